"""FeaturePipeline: names, order, warm-up, normalisation, lookback and the higher-timeframe join."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import talib
from support.bars import random_walk_bars
from support.strategies import make_strategy

from ktrdr.data import resample_bars
from ktrdr.errors import DataError
from ktrdr.features.builder import FeaturePipeline
from ktrdr.features.fuzzy import membership_degrees
from ktrdr.strategy.indicator_specs import warmup_bars

RSI_ZONES = {
    "rsi_zone": {
        "indicator": "rsi_14",
        "low": [0, 20, 40],
        "mid": [30, 50, 70],
        "high": {"type": "trapezoidal", "parameters": [60, 80, 100, 100]},
    }
}


def test_names_follow_nn_inputs_then_timeframes_then_memberships() -> None:
    strategy = make_strategy(
        {"rsi_14": {"type": "rsi", "period": 14}, "macd": {"type": "macd"}},
        [
            {"raw_indicator": "macd.histogram", "timeframes": ["1h"]},
            {"fuzzy_set": "rsi_zone", "timeframes": "all"},
        ],
        fuzzy_sets=RSI_ZONES,
        timeframes=["1h", "4h"],
    )
    assert FeaturePipeline(strategy).feature_names == [
        "1h_macd.histogram_raw",
        "1h_rsi_zone_low",
        "1h_rsi_zone_mid",
        "1h_rsi_zone_high",
        "4h_rsi_zone_low",
        "4h_rsi_zone_mid",
        "4h_rsi_zone_high",
    ]


def test_values_are_memberships_of_the_indicator(hourly_bars: pd.DataFrame) -> None:
    strategy = make_strategy(
        {"rsi_14": {"type": "rsi", "period": 14}},
        [{"fuzzy_set": "rsi_zone"}],
        fuzzy_sets=RSI_ZONES,
    )
    features = FeaturePipeline(strategy).compute({"1h": hourly_bars})
    rsi = talib.RSI(hourly_bars["close"].to_numpy(), timeperiod=14)
    warmup = warmup_bars("rsi", {"period": 14})  # until RSI forgets where the bars start
    assert features.warmup_dropped == warmup
    expected = membership_degrees("triangular", [30, 50, 70], rsi[warmup:])
    np.testing.assert_allclose(features.frame["1h_rsi_zone_mid"].to_numpy(), expected)
    assert features.frame.index[0] == hourly_bars.index[warmup]


def test_normalisation_uses_only_the_rows_it_was_fitted_on(hourly_bars: pd.DataFrame) -> None:
    strategy = make_strategy(
        {"sma": {"type": "sma", "period": 5}, "roc": {"type": "roc", "period": 3}},
        [
            {"raw_indicator": "sma", "normalization": "zscore"},
            {"raw_indicator": "roc", "normalization": "minmax"},
        ],
    )
    pipeline = FeaturePipeline(strategy)
    features = pipeline.compute({"1h": hourly_bars})
    train = features.frame.iloc[:300]
    params = pipeline.fit_normalization(train)
    sma = train["1h_sma_raw"]
    assert params["1h_sma_raw"] == pytest.approx({"mean": sma.mean(), "std": sma.std(ddof=0)})
    assert params["1h_roc_raw"] == pytest.approx(
        {"min": train["1h_roc_raw"].min(), "max": train["1h_roc_raw"].max()}
    )
    inputs = pipeline.model_inputs(features, params)
    np.testing.assert_allclose(inputs.values[:300, 0].mean(), 0.0, atol=1e-5)
    assert inputs.values[:300, 1].min() == pytest.approx(0.0)
    assert inputs.values[:300, 1].max() == pytest.approx(1.0)
    assert inputs.values[300:, 0].mean() != pytest.approx(0.0, abs=1e-3)


def test_lookback_stacks_newest_lag_first(hourly_bars: pd.DataFrame) -> None:
    strategy = make_strategy(
        {"roc": {"type": "roc", "period": 1}, "rsi": {"type": "rsi", "period": 5}},
        [
            {"raw_indicator": "roc", "normalization": "none"},
            {"raw_indicator": "rsi", "normalization": "none"},
        ],
        model={"type": "mlp", "architecture": {"hidden_layers": [8]}, "lookback": 3},
    )
    pipeline = FeaturePipeline(strategy)
    assert pipeline.feature_names == [
        "1h_roc_raw_lag0",
        "1h_rsi_raw_lag0",
        "1h_roc_raw_lag1",
        "1h_rsi_raw_lag1",
        "1h_roc_raw_lag2",
        "1h_rsi_raw_lag2",
    ]
    features = pipeline.compute({"1h": hourly_bars})
    inputs = pipeline.model_inputs(features, {})
    base = features.frame.to_numpy(np.float32)
    assert inputs.index[0] == features.frame.index[2]
    np.testing.assert_array_equal(inputs.values[0], np.concatenate([base[2], base[1], base[0]]))
    np.testing.assert_array_equal(inputs.values[-1], np.concatenate(base[::-1][:3]))


def test_higher_timeframe_values_arrive_only_after_their_bar_closed() -> None:
    hourly = random_walk_bars(400)
    four_hourly = resample_bars(hourly, "4h")
    strategy = make_strategy(
        {"sma": {"type": "sma", "period": 2}},
        [{"raw_indicator": "sma", "timeframes": ["4h"], "normalization": "none"}],
        timeframes=["1h", "4h"],
    )
    frame = FeaturePipeline(strategy).compute_raw({"1h": hourly, "4h": four_hourly})
    sma_4h = talib.SMA(four_hourly["close"].to_numpy(), timeperiod=2)
    # The 4h bar opened 08:00 closes at 12:00: the 1h bar 11:00-12:00 is the first to see it.
    for k, opened in enumerate(four_hourly.index[2:10], start=2):
        first_seen = opened + pd.Timedelta(hours=3)
        assert frame.loc[first_seen, "4h_sma_raw"] == sma_4h[k]
        assert frame.loc[first_seen - pd.Timedelta(hours=1), "4h_sma_raw"] == sma_4h[k - 1]


def test_missing_timeframe_and_too_little_data_are_errors(hourly_bars: pd.DataFrame) -> None:
    strategy = make_strategy(
        {"sma": {"type": "sma", "period": 50}},
        [{"raw_indicator": "sma"}],
        timeframes=["1h", "4h"],
    )
    with pytest.raises(DataError, match="4h"):
        FeaturePipeline(strategy).compute({"1h": hourly_bars})
    with pytest.raises(DataError, match="warm-up"):
        FeaturePipeline(strategy).compute(
            {"1h": hourly_bars.iloc[:30], "4h": resample_bars(hourly_bars.iloc[:30], "4h")}
        )
