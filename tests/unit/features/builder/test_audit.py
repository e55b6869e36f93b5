"""The look-ahead audit: clean for the catalogue and multi-timeframe joins, catches peeking."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from support.bars import random_walk_bars
from support.strategies import make_strategy

from ktrdr.data import resample_bars
from ktrdr.features import builder
from ktrdr.features.audit import audit_lookahead
from ktrdr.strategy.indicator_specs import list_indicator_specs


@pytest.mark.parametrize("spec", list_indicator_specs(), ids=lambda spec: spec.name)
def test_every_catalogue_indicator_passes(spec, hourly_bars: pd.DataFrame) -> None:
    outputs = spec.outputs or (None,)
    inputs = [
        {"raw_indicator": f"ind.{out}" if out else "ind", "normalization": "none"}
        for out in outputs
    ]
    strategy = make_strategy({"ind": {"type": spec.name}}, inputs)
    report = audit_lookahead(strategy, {"1h": hourly_bars})
    assert report.passed, report.describe()
    assert len(report.cut_points) == 4


def _multi_timeframe_strategy():
    return make_strategy(
        {"rsi": {"type": "rsi", "period": 7}, "bb": {"type": "bbands", "period": 10}},
        [
            {"raw_indicator": "rsi", "timeframes": "all", "normalization": "none"},
            {"raw_indicator": "bb.upper", "timeframes": ["4h"], "normalization": "none"},
        ],
        timeframes=["1h", "4h"],
    )


def test_multi_timeframe_strategy_passes() -> None:
    hourly = random_walk_bars(900)
    bars = {"1h": hourly, "4h": resample_bars(hourly, "4h")}
    assert audit_lookahead(_multi_timeframe_strategy(), bars).passed


def test_a_peeking_indicator_is_caught(
    monkeypatch: pytest.MonkeyPatch, hourly_bars: pd.DataFrame
) -> None:
    real = builder.compute_indicator

    def peeking(type_name, params, bars):
        values = real(type_name, params, bars)
        if type_name == "sma":
            values = {k: np.append(v[1:], np.nan) for k, v in values.items()}  # reads bar t+1
        return values

    monkeypatch.setattr(builder, "compute_indicator", peeking)
    strategy = make_strategy(
        {"sma": {"type": "sma", "period": 3}, "rsi": {"type": "rsi"}},
        [
            {"raw_indicator": "sma", "normalization": "none"},
            {"raw_indicator": "rsi", "normalization": "none"},
        ],
    )
    report = audit_lookahead(strategy, {"1h": hourly_bars})
    assert not report.passed
    assert list(report.offending) == ["1h_sma_raw"]
    assert "1h_sma_raw" in report.describe()


def test_joining_an_unclosed_higher_timeframe_bar_is_caught(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def join_on_open_time(values, bars, timeframe, base, base_timeframe):
        positions = np.searchsorted(bars.index.asi8, base.index.asi8, side="right") - 1
        return {k: np.where(positions >= 0, v[positions], np.nan) for k, v in values.items()}

    monkeypatch.setattr(builder, "_join_closed", join_on_open_time)
    hourly = random_walk_bars(900)
    bars = {"1h": hourly, "4h": resample_bars(hourly, "4h")}
    report = audit_lookahead(_multi_timeframe_strategy(), bars)
    assert set(report.offending) == {"4h_rsi_raw", "4h_bb.upper_raw"}
