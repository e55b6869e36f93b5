"""Symbol and timeframe overrides of a validated strategy: checked alone, not re-validated."""

from __future__ import annotations

import pytest

from ktrdr.errors import StrategyValidationError
from ktrdr.training.service import with_overrides
from tests.support.strategies import make_strategy

RSI = {"rsi_14": {"type": "rsi", "period": 14}}


def test_no_overrides_or_the_strategys_own_return_the_same_config() -> None:
    strategy = make_strategy(RSI, [{"raw_indicator": "rsi_14"}], symbol="EURUSD")

    assert with_overrides(strategy, None, None) is strategy
    assert with_overrides(strategy, ["EURUSD"], ["1h"]) is strategy


def test_overrides_replace_the_symbols_and_timeframes() -> None:
    strategy = make_strategy(RSI, [{"raw_indicator": "rsi_14"}], symbol="EURUSD")

    changed = with_overrides(strategy, ["GBPUSD", "USDJPY"], ["1h", "4h"])

    assert changed.symbols() == ["GBPUSD", "USDJPY"]
    assert changed.timeframes() == ["1h", "4h"]
    assert changed.base_timeframe() == "1h"
    assert strategy.symbols() == ["EURUSD"]


def test_a_bad_symbol_override_names_the_field() -> None:
    strategy = make_strategy(RSI, [{"raw_indicator": "rsi_14"}])

    with pytest.raises(StrategyValidationError, match=r"training_data\.symbols"):
        with_overrides(strategy, ["EUR USD", "EUR USD"], None)


def test_a_timeframe_override_is_checked_against_the_inputs_that_name_timeframes() -> None:
    strategy = make_strategy(
        RSI, [{"raw_indicator": "rsi_14", "timeframes": ["4h"]}], timeframes=["1h", "4h"]
    )

    with pytest.raises(StrategyValidationError, match="4h"):
        with_overrides(strategy, None, ["1h"])
