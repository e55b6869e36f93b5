"""The block-wise equity scan equals a plain numpy/pandas computation of the same definitions.

The scan walks the equity in blocks and only looks bar by bar into blocks holding a new peak, a
new trough or a day's end; these paths cross block edges, hit them exactly, rise without pause
(a new peak every bar), fall without pause, stay flat, fall below zero, and run on clocks from
one minute to one day in time zones with daylight saving.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from ktrdr.backtesting.metrics_nb import (
    RAW_GROWTH,
    RAW_MAX_DRAWDOWN,
    RAW_SHARPE,
    RAW_SHARPE_DAILY,
    RAW_SORTINO,
    BarClock,
)

BLOCK_EDGES = (1, 2, 3, 127, 128, 129, 256, 257)


def _ratios(points: np.ndarray, periods: float) -> tuple[float, float]:
    """Sharpe (ddof 1) and Sortino (target 0) of the points' simple returns, annualised."""
    if len(points) < 3 or math.isnan(periods) or points.min() <= 0:
        return math.nan, math.nan
    returns = points[1:] / points[:-1] - 1.0
    std = returns.std(ddof=1)
    downside = math.sqrt(np.mean(np.minimum(returns, 0.0) ** 2))
    scale = math.sqrt(periods)
    sharpe = returns.mean() / std * scale if std > 0 else math.nan
    sortino = returns.mean() / downside * scale if downside > 0 else math.nan
    return sharpe, sortino


def reference(equity: np.ndarray, index: pd.DatetimeIndex) -> dict[int, float]:
    """The RAW_* metrics by the definitions, with numpy and a pandas groupby by calendar day."""
    clock = BarClock.of(index)
    periods = math.nan if clock.periods_per_year is None else clock.periods_per_year
    wall = index.tz_localize(None) if index.tz is not None else index
    day_ends = pd.Series(np.arange(len(index)), index=wall).groupby(wall.normalize()).max()
    rows = np.unique(np.concatenate([[0], day_ends.to_numpy()]))
    daily = equity[rows]
    daily_periods = (len(rows) - 1) / clock.span_years if len(rows) >= 2 else math.nan
    sharpe, sortino = _ratios(equity, periods)
    return {
        RAW_GROWTH: equity[-1] / equity[0],
        RAW_MAX_DRAWDOWN: float(np.max(1.0 - equity / np.maximum.accumulate(equity))),
        RAW_SHARPE: sharpe,
        RAW_SORTINO: sortino,
        RAW_SHARPE_DAILY: _ratios(daily, daily_periods)[0],
    }


def equity_path(kind: str, n: int, seed: int) -> np.ndarray:
    """An equity curve of n points of the given shape."""
    rng = np.random.default_rng(seed)
    steps = rng.normal(0.0, 0.01, n)
    if kind == "rising":
        return 100_000.0 * np.cumprod(1.0 + np.abs(steps))
    if kind == "falling":
        return 100_000.0 * np.cumprod(1.0 - np.abs(steps) / 2.0)
    if kind == "flat_then_walk":
        walk = 100_000.0 * np.exp(np.cumsum(steps))
        walk[: n // 2] = 100_000.0
        return walk
    if kind == "ruined":
        return 100_000.0 - np.linspace(0.0, 150_000.0, n) + 5_000.0 * np.sin(np.arange(n))
    return 100_000.0 * np.exp(np.cumsum(steps))


def assert_matches(got: np.ndarray, expected: dict[int, float]) -> None:
    for slot, value in expected.items():
        if math.isnan(value):
            assert math.isnan(got[slot]), (slot, got[slot])
        else:
            assert got[slot] == pytest.approx(value, rel=1e-9, abs=1e-12), slot


@pytest.mark.parametrize("n", (*BLOCK_EDGES, 5_000))
@pytest.mark.parametrize("kind", ["walk", "rising", "falling", "flat_then_walk", "ruined"])
def test_scan_equals_the_definitions_across_block_edges(n, kind):
    index = pd.date_range("2024-03-01", periods=n, freq="7min", tz="UTC")
    equity = equity_path(kind, n, seed=n)
    assert_matches(BarClock.of(index).equity_metrics(equity), reference(equity, index))


@pytest.mark.parametrize("freq", ["1min", "13min", "1h", "7h", "1D", "B"])
@pytest.mark.parametrize("tz", [None, "UTC", "Europe/Berlin", "America/Santiago"])
def test_calendar_days_of_every_clock_and_time_zone(freq, tz):
    # Spans the spring and autumn clock changes of both hemispheres.
    index = pd.date_range("2024-03-20", "2024-11-10", freq=freq, tz="UTC")[:40_000]
    if tz is None:
        index = index.tz_localize(None)
    elif tz != "UTC":
        index = index.tz_convert(tz)
    equity = equity_path("walk", len(index), seed=7)
    assert_matches(BarClock.of(index).equity_metrics(equity), reference(equity, index))


@pytest.mark.parametrize("seed", range(4))
def test_calendar_days_of_an_irregular_clock_with_gaps_of_days(seed):
    rng = np.random.default_rng(seed)
    # Trading hours on business days, with whole days and hours missing at random.
    hours = pd.date_range("2024-01-01", "2024-12-31", freq="1h", tz="America/New_York")
    hours = hours[(hours.day_of_week < 5) & (hours.hour >= 9) & (hours.hour < 17)]
    index = hours[np.sort(rng.choice(len(hours), size=len(hours) // 3, replace=False))]
    equity = equity_path("walk", len(index), seed=seed)
    assert_matches(BarClock.of(index).equity_metrics(equity), reference(equity, index))


def test_a_peak_on_the_last_bar_of_a_block_ends_the_drawdown_there():
    equity = np.full(300, 100.0)
    equity[50] = 80.0  # drawdown 20 % in the first block
    equity[127] = 120.0  # a new peak on the first block's last bar
    equity[200] = 90.0  # 25 % below it, in the second block
    index = pd.date_range("2024-01-01", periods=300, freq="1h", tz="UTC")
    got = BarClock.of(index).equity_metrics(equity)
    assert got[RAW_MAX_DRAWDOWN] == pytest.approx(0.25)
    assert_matches(got, reference(equity, index))
