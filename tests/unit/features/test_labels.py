"""Labels on hand-built price paths with known answers: classes, -1 ends, horizons, validation."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from ktrdr.errors import ValidationError
from ktrdr.features.labels import (
    LabelResult,
    ewm_volatility,
    forward_return_labels,
    label_distribution,
    make_labels,
    triple_barrier_labels,
    zigzag_labels,
)

SELL, HOLD, BUY, NONE = 0, 1, 2, -1


def make_bars(close, high=None, low=None) -> pd.DataFrame:
    """Bars with the given closes; high/low default to the close (open = close, volume 1)."""
    close = np.asarray(close, dtype=np.float64)
    high = close if high is None else np.asarray(high, dtype=np.float64)
    low = close if low is None else np.asarray(low, dtype=np.float64)
    index = pd.date_range("2024-01-01", periods=len(close), freq="1h", tz="UTC", name="timestamp")
    return pd.DataFrame(
        {"open": close, "high": high, "low": low, "close": close, "volume": 1.0}, index=index
    )


def random_bars(n: int, seed: int = 7) -> pd.DataFrame:
    """A random walk of n bars with highs/lows 0.2 % around the close."""
    rng = np.random.default_rng(seed)
    close = 100.0 * np.exp(np.cumsum(rng.normal(0.0, 0.003, n)))
    return make_bars(close, close * 1.002, close * 0.998)


def assert_result(result: LabelResult, labels, horizon) -> None:
    assert result.labels.dtype == np.int8
    assert result.horizon.dtype == np.int64
    np.testing.assert_array_equal(result.labels, labels)
    np.testing.assert_array_equal(result.horizon, horizon)


# -- zigzag ------------------------------------------------------------------------------------


def test_zigzag_first_touch_decides_and_the_end_is_undefined() -> None:
    # t=0: 101.5 >= 101 at bar 2 -> BUY; t=1: 98.9 <= 99.495 at bar 4 -> SELL; t=2: 100.2 <= 100.485
    # at bar 3 -> SELL; t=3: 98.9 <= 99.198 -> SELL; t>=4: window runs out without a touch -> -1.
    bars = make_bars([100, 100.5, 101.5, 100.2, 98.9, 99, 99.5])
    result = zigzag_labels(bars, 0.01, max_horizon=3)
    assert_result(result, [BUY, SELL, SELL, SELL, NONE, NONE, NONE], [2, 4, 3, 4, 6, 6, 6])


def test_zigzag_no_touch_within_a_full_window_is_hold() -> None:
    bars = make_bars([100, 100.1, 99.9, 100.05, 100])
    result = zigzag_labels(bars, 0.01, max_horizon=2)
    assert_result(result, [HOLD, HOLD, HOLD, NONE, NONE], [2, 3, 4, 4, 4])


def test_zigzag_uses_closes_not_wicks() -> None:
    close = [100, 100.2, 100.1, 100.0]
    wicks = make_bars(close, high=[100, 105, 105, 105], low=[100, 95, 95, 95])
    assert_result(zigzag_labels(wicks, 0.01, max_horizon=3), [HOLD, NONE, NONE, NONE], [3, 3, 3, 3])


def test_zigzag_touch_beyond_the_window_does_not_count() -> None:
    bars = make_bars([100, 100, 100, 102])
    assert_result(zigzag_labels(bars, 0.01, max_horizon=2), [HOLD, BUY, BUY, NONE], [2, 3, 3, 3])


# -- triple barrier --------------------------------------------------------------------------

WARMUP = 30  # alternating +1 % / -1 % returns: vol settles near 0.01


def barrier_bars(after: list[tuple[float, float, float]]) -> tuple[pd.DataFrame, int]:
    """Warm-up closes 100/101 alternating, ending on 100 at bar t0, then (high, low, close) bars."""
    closes = [100.0 if i % 2 == 0 else 101.0 for i in range(WARMUP + 1)]
    highs, lows = list(closes), list(closes)
    for high, low, close in after:
        highs.append(high)
        lows.append(low)
        closes.append(close)
    return make_bars(closes, highs, lows), WARMUP


def test_barrier_volatility_is_near_one_percent() -> None:
    bars, t0 = barrier_bars([])
    volatility = ewm_volatility(bars["close"].to_numpy(), 10)
    assert 0.009 < volatility[t0] < 0.0125


@pytest.mark.parametrize(
    ("after", "label", "steps"),
    [
        # pt 2 -> upper near 102; sl 1 -> lower near 99.
        ([(100.5, 99.5, 100), (103, 100, 102.5)], BUY, 2),
        ([(100.5, 99.5, 100), (100.5, 98, 98.5)], SELL, 2),
        ([(103, 98, 100)], SELL, 1),  # both barriers in one bar: the conservative SELL
        ([(100.5, 99.5, 100), (100.5, 99.5, 100), (100.5, 99.5, 100)], HOLD, 3),
        ([(100.5, 99.5, 100), (100.5, 99.5, 100), (100.5, 99.5, 100), (103, 100, 102)], HOLD, 3),
    ],
)
def test_triple_barrier_first_touch(after, label: int, steps: int) -> None:
    bars, t0 = barrier_bars(after)
    result = triple_barrier_labels(bars, 2.0, 1.0, max_holding_period=3, vol_span=10)
    assert result.labels[t0] == label
    assert result.horizon[t0] == t0 + steps


def test_triple_barrier_undefined_during_warmup_and_at_the_end() -> None:
    bars, t0 = barrier_bars([(100.5, 99.5, 100)] * 2)
    result = triple_barrier_labels(bars, 2.0, 1.0, max_holding_period=3, vol_span=10)
    np.testing.assert_array_equal(result.labels[:10], NONE)
    np.testing.assert_array_equal(result.horizon[:10], np.arange(10))
    assert (result.labels[10:t0] != NONE).all()
    np.testing.assert_array_equal(result.labels[t0:], NONE)
    np.testing.assert_array_equal(result.horizon[t0:], len(bars) - 1)


def test_triple_barrier_zero_volatility_is_undefined() -> None:
    result = triple_barrier_labels(make_bars([100.0] * 12), 1.0, 1.0, 2, vol_span=3)
    np.testing.assert_array_equal(result.labels, NONE)


# -- forward return --------------------------------------------------------------------------


def test_forward_return_signs() -> None:
    result = forward_return_labels(make_bars([100, 101, 100, 100, 99]), horizon=1)
    assert_result(result, [BUY, SELL, HOLD, SELL, NONE], [1, 2, 3, 4, 4])


def test_forward_return_threshold_band_is_hold() -> None:
    # r over 2 bars: 0.0, -0.0099, -0.01, then undefined.
    result = forward_return_labels(make_bars([100, 101, 100, 100, 99]), 2, threshold=0.005)
    assert_result(result, [HOLD, SELL, SELL, NONE, NONE], [2, 3, 4, 4, 4])


def test_forward_return_nan_close_is_undefined() -> None:
    result = forward_return_labels(make_bars([100, np.nan, 102, 103]), 1)
    np.testing.assert_array_equal(result.labels, [NONE, NONE, BUY, NONE])


def test_forward_return_shorter_than_horizon() -> None:
    assert_result(forward_return_labels(make_bars([100, 101]), 5), [NONE, NONE], [1, 1])


# -- properties shared by every labeller ---------------------------------------------------------

LABELLERS = {
    "zigzag": lambda bars: zigzag_labels(bars, 0.004, max_horizon=40),
    "triple_barrier": lambda bars: triple_barrier_labels(bars, 2.0, 1.5, 24, vol_span=20),
    "forward_return": lambda bars: forward_return_labels(bars, 12, threshold=0.001),
}


@pytest.mark.parametrize("name", LABELLERS)
def test_label_never_depends_on_bars_after_its_horizon(name: str) -> None:
    bars = random_bars(400)
    result = LABELLERS[name](bars)
    assert set(np.unique(result.labels)) <= {NONE, SELL, HOLD, BUY}
    assert (result.horizon >= np.arange(len(bars))).all()
    for t in range(0, 380, 7):
        changed = bars.copy()
        after = slice(int(result.horizon[t]) + 1, None)
        changed.iloc[after, :4] = changed.iloc[after, :4].to_numpy() * 1.5
        assert LABELLERS[name](changed).labels[t] == result.labels[t], t


@pytest.mark.parametrize("name", ["zigzag", "forward_return"])
def test_label_never_depends_on_bars_before_t(name: str) -> None:
    bars = random_bars(200)
    changed = bars.copy()
    changed.iloc[:100, :4] = changed.iloc[:100, :4].to_numpy() * 0.7
    np.testing.assert_array_equal(
        LABELLERS[name](changed).labels[100:], LABELLERS[name](bars).labels[100:]
    )


def test_max_lookahead_and_defined() -> None:
    result = zigzag_labels(make_bars([100, 100.5, 101.5, 100.2, 98.9, 99, 99.5]), 0.01, 3)
    np.testing.assert_array_equal(result.defined, [True] * 4 + [False] * 3)
    assert result.max_lookahead == 3
    assert forward_return_labels(make_bars([100.0]), 1).max_lookahead == 0


# -- make_labels -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("section", "direct"),
    [
        ({"source": "zigzag", "zigzag_threshold": 0.004}, lambda bars: zigzag_labels(bars, 0.004)),
        (
            {"source": "triple_barrier", "pt_multiplier": 2.0, "sl_multiplier": 1.5}
            | {"max_holding_period": 24},
            LABELLERS["triple_barrier"],
        ),
        (
            {"source": "forward_return", "horizon": 12, "threshold": 0.001},
            LABELLERS["forward_return"],
        ),
        (
            {"source": "forward_return", "horizon": 3, "threshold": None},
            lambda bars: forward_return_labels(bars, 3, 0.0),
        ),
    ],
)
def test_make_labels_dispatches_on_source(section: dict, direct) -> None:
    bars = random_bars(300)
    expected = direct(bars)
    result = make_labels(bars, section)
    np.testing.assert_array_equal(result.labels, expected.labels)
    np.testing.assert_array_equal(result.horizon, expected.horizon)


@pytest.mark.parametrize(
    ("section", "named"),
    [
        ({"source": "renko"}, "source"),
        ({}, "source"),
        ({"source": "zigzag"}, "zigzag_threshold"),
        ({"source": "zigzag", "zigzag_threshold": 0.0}, "zigzag_threshold"),
        ({"source": "zigzag", "zigzag_threshold": 1.5}, "zigzag_threshold"),
        ({"source": "zigzag", "zigzag_threshold": "0.01"}, "zigzag_threshold"),
        ({"source": "zigzag", "zigzag_threshold": 0.01, "lookahead": 5}, "lookahead"),
        (
            {"source": "triple_barrier", "pt_multiplier": 2, "sl_multiplier": -1}
            | {"max_holding_period": 5},
            "sl_multiplier",
        ),
        (
            {"source": "triple_barrier", "pt_multiplier": 2, "sl_multiplier": 1}
            | {"max_holding_period": 2.5},
            "max_holding_period",
        ),
        (
            {"source": "triple_barrier", "pt_multiplier": 2, "sl_multiplier": 1}
            | {"max_holding_period": 5, "vol_span": 1},
            "vol_span",
        ),
        ({"source": "forward_return", "horizon": 0}, "horizon"),
        ({"source": "forward_return", "horizon": True}, "horizon"),
        ({"source": "forward_return", "horizon": 5, "threshold": -0.1}, "threshold"),
    ],
)
def test_make_labels_rejects_bad_sections(section: dict, named: str) -> None:
    with pytest.raises(ValidationError, match=f"training.labels.{named}"):
        make_labels(random_bars(50), section)


def test_labellers_reject_bad_arguments_and_missing_columns() -> None:
    bars = random_bars(50)
    with pytest.raises(ValidationError, match="threshold"):
        zigzag_labels(bars, 0.0)
    with pytest.raises(ValidationError, match="max_horizon"):
        zigzag_labels(bars, 0.01, max_horizon=0)
    with pytest.raises(ValidationError, match="'high'"):
        triple_barrier_labels(bars.drop(columns="high"), 1.0, 1.0, 5)


# -- label_distribution ------------------------------------------------------------------------


def test_label_distribution_counts_and_ignores_undefined() -> None:
    labels = np.array([0, 2, 2, -1, 1, 2, -1], dtype=np.int8)
    assert label_distribution(labels) == {"sell": 1, "hold": 1, "buy": 3}
    assert label_distribution(np.array([], dtype=np.int8)) == {"sell": 0, "hold": 0, "buy": 0}


def test_label_distribution_rejects_unknown_classes() -> None:
    with pytest.raises(ValidationError, match="labels must be"):
        label_distribution(np.array([0, 3]))
