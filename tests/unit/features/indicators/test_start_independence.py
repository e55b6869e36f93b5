"""After its warm-up, every catalogue indicator gives the same value at bar t wherever the history
starts: a backtest that loads a few hundred bars before its range sees what the model trained on.

Tolerance: 1e-6 of the output's largest magnitude over the compared bars (relative for price-like
outputs, and a fair yardstick for outputs that cross zero such as the MACD histogram). Recursive
indicators settle to ``SETTLE_FACTOR`` (1e-7) of their start's error, a tenfold margin; window
indicators agree to rounding.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import talib
from support.strategies import make_strategy

from ktrdr.data import DataRepository
from ktrdr.errors import ValidationError
from ktrdr.features.builder import FeaturePipeline
from ktrdr.features.indicators import compute_indicator
from ktrdr.strategy.indicator_specs import list_indicator_specs, warmup_bars

CATALOGUE = [spec.name for spec in list_indicator_specs()]
# math transforms that are NaN or infinite on a price (acos(1.2), exp(8000)): no values to compare
NOT_FOR_PRICES = {"ACOS", "ASIN", "COSH", "EXP", "SINH"}


def _usable_talib_functions() -> list[str]:
    """Every ``talib.<NAME>`` a strategy may use with its default parameters on prices."""
    usable = []
    for function in talib.get_functions():
        try:
            warmup_bars(f"talib.{function}", {})
        except ValidationError:
            continue  # not bar inputs, or it never forgets its start (refused, tested elsewhere)
        if function not in NOT_FOR_PRICES:
            usable.append(f"talib.{function}")
    return usable


TALIB_FUNCTIONS = _usable_talib_functions()
TOLERANCE = 1e-6
MIN_COMPARED = 500
# (first start, later start) pairs, in bars of the sample
STARTS = [(0, 300), (0, 1234), (100, 2777)]
NON_DEFAULT = {
    "rsi": {"period": 5, "source": "open"},
    "atr": {"period": 30},
    "ema": {"period": 50},
    "macd": {"fast_period": 5, "slow_period": 35, "signal_period": 4},
    "adx": {"period": 7},
    "keltnerchannels": {"period": 8, "atr_period": 15},
    "squeezeintensity": {"kc_period": 30, "kc_atr_period": 5},
    "fishertransform": {"period": 7, "smoothing": 9},
    "distancefromma": {"ma_type": "EMA", "period": 40},
    "supertrend": {"period": 3, "multiplier": 1.0},
    "parabolicsar": {"initial_af": 0.01, "step_af": 0.03, "max_af": 0.3},
    "obv": {"period": 5},
    "adline": {"period": 50},
}


@pytest.fixture(scope="module")
def repository(tmp_path_factory) -> DataRepository:
    return DataRepository(tmp_path_factory.mktemp("data"))


@pytest.fixture(scope="module")
def eurusd(repository) -> pd.DataFrame:
    return repository.load("EURUSD", "1h")


@pytest.fixture(scope="module")
def btcusd(repository) -> pd.DataFrame:
    return repository.load("BTCUSD", "1h").iloc[:6000]


def assert_start_independent(
    type_name: str, params: dict, bars: pd.DataFrame, first: int, later: int
) -> None:
    """Values from ``bars[later:]`` after its warm-up equal those from ``bars[first:]``."""
    warmup = warmup_bars(type_name, params)
    assert len(bars) - later - warmup >= MIN_COMPARED, "the starts leave too few bars to compare"
    early = compute_indicator(type_name, params, bars.iloc[first:])
    late = compute_indicator(type_name, params, bars.iloc[later:])
    offset = later - first
    for name, values in late.items():
        assert np.isnan(values[:warmup]).all(), f"{type_name}.{name}: a value inside the warm-up"
        settled = values[warmup:]
        reference = early[name][offset + warmup :]
        assert np.isfinite(settled).all() and np.isfinite(reference).all(), f"{type_name}.{name}"
        scale = float(np.max(np.abs(reference))) or 1.0
        worst = float(np.max(np.abs(settled - reference))) / scale
        assert worst <= TOLERANCE, (
            f"{type_name}.{name} from bar {later} differs from bar {first}'s history by "
            f"{worst:.2e} of its scale after the {warmup}-bar warm-up"
        )


@pytest.mark.parametrize(("first", "later"), STARTS)
@pytest.mark.parametrize("type_name", CATALOGUE)
def test_default_params_on_eurusd(eurusd, type_name, first, later):
    assert_start_independent(type_name, {}, eurusd, first, later)


@pytest.mark.parametrize("type_name", CATALOGUE)
def test_default_params_on_btcusd(btcusd, type_name):
    assert_start_independent(type_name, {}, btcusd, 0, 700)


@pytest.mark.parametrize("type_name", TALIB_FUNCTIONS)
def test_talib_functions_on_eurusd(eurusd, type_name):
    assert_start_independent(type_name, {}, eurusd, 0, 1234)


@pytest.mark.parametrize("type_name", TALIB_FUNCTIONS)
def test_talib_functions_on_btcusd(btcusd, type_name):
    assert_start_independent(type_name, {}, btcusd, 0, 2345)


@pytest.mark.parametrize("type_name", sorted(NON_DEFAULT))
def test_non_default_params_on_eurusd(eurusd, type_name):
    assert_start_independent(type_name, NON_DEFAULT[type_name], eurusd, 0, 517)


def test_volume_lines_are_the_change_of_the_classic_cumulative_lines(eurusd):
    # TA-Lib's OBV and AD run from the first bar given; ours are their change over period bars
    h, lo, c, v = (eurusd[k].to_numpy() for k in ("high", "low", "close", "volume"))
    for type_name, cumulative, period in (
        ("obv", talib.OBV(c, v), 20),
        ("adline", talib.AD(h, lo, c, v), 50),
    ):
        ours = compute_indicator(type_name, {"period": period}, eurusd)["value"]
        change = cumulative[period:] - cumulative[:-period]
        scale = np.abs(cumulative).max()
        np.testing.assert_allclose(ours[period:], change, rtol=0, atol=1e-9 * scale)


def test_features_match_after_the_pipeline_warmup(eurusd):
    strategy = make_strategy(
        {
            "rsi_14": {"type": "rsi", "period": 14},
            "macd": {"type": "macd"},
            "obv": {"type": "obv"},
            "adx": {"type": "adx"},
            "trend": {"type": "supertrend"},
        },
        [
            {"fuzzy_set": "rsi_zone"},
            {"raw_indicator": "macd.histogram", "normalization": "none"},
            {"raw_indicator": "obv", "normalization": "none"},
            {"raw_indicator": "adx.adx", "normalization": "none"},
            {"raw_indicator": "trend.direction", "normalization": "none"},
        ],
        fuzzy_sets={"rsi_zone": {"indicator": "rsi_14", "low": [0, 30, 50], "high": [50, 70, 100]}},
        symbol="EURUSD",
    )
    pipeline = FeaturePipeline(strategy)
    full = pipeline.compute({"1h": eurusd}).frame
    late = pipeline.compute({"1h": eurusd.iloc[900:]}).frame
    assert late.index[0] == eurusd.index[900 + warmup_bars("adx", {})]
    reference = full.loc[late.index]
    scale = reference.abs().max().replace(0.0, 1.0)
    worst = ((late - reference).abs().max() / scale).max()
    assert worst <= TOLERANCE
