"""The backtest metrics computed inside numba from the equity and the trade statistics.

The one implementation of the definitions in :func:`ktrdr.backtesting.metrics.compute_metrics`:
the simulators, ``simulate_many`` and ``compute_metrics`` (stitched results) all call these, in
one pass over the equity, without pandas and its temporaries.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from numba import njit

from ktrdr.backtesting.metric_definitions import (
    METRIC_NAMES,
    MIN_RELIABLE_ANNUALIZATION_DAYS,
    SECONDS_PER_DAY,
    SECONDS_PER_YEAR,
    Metrics,
    annualized_return,
    finite_or_none,
    periods_over_span,
)

_NOT_FLOAT = ("total_trades", "annualization_reliable")
_TICKS_PER_SECOND = {"s": 1, "ms": 1_000, "us": 1_000_000, "ns": 1_000_000_000}

# Slots of the raw metrics array (NaN = undefined).
RAW_GROWTH = 0
RAW_SHARPE = 1
RAW_SORTINO = 2
RAW_SHARPE_DAILY = 3
RAW_MAX_DRAWDOWN = 4
RAW_SIZE = 5


# Slots of the trade statistics the metrics need.
STATS_COUNT = 0
STATS_WINS = 1
STATS_GROSS_PROFIT = 2
STATS_GROSS_LOSS = 3  # -(sum of the losing trades' pnl), positive
STATS_SUM_RETURN = 4
STATS_BARS_HELD = 5
STATS_SIZE = 6


# Bars per block of the equity scan: a block is checked for a new peak or trough and for a day
# boundary in one vectorised pass; only a block that holds one is walked bar by bar.
_BLOCK = 128


# numpy's error model drops the zero-divisor check that keeps the division off SIMD lanes:
# the callers pass only points > 0 (or discard the sums).
@njit(cache=True, fastmath={"reassoc"}, error_model="numpy")
def _return_sums_nb(
    before: np.ndarray, after: np.ndarray, shift: float, low: float, high: float
) -> tuple[float, float, float, int, int]:
    """Sums over the returns r = after / before - 1: (r - shift), (r - shift) ** 2 and
    min(r, 0) ** 2, and how many of ``after`` lie above ``high`` and below ``low``; reassociated
    so that the loop runs on SIMD lanes (a running minimum here would stop that)."""
    total = squares = downside = 0.0
    above = below = 0
    for i in range(after.shape[0]):
        value = after[i]
        r = value / before[i] - 1.0
        d = r - shift
        total += d
        squares += d * d
        loss = r if r < 0.0 else 0.0
        downside += loss * loss
        above += value > high
        below += value < low
    return total, squares, downside, above, below


@njit(cache=True)
def _sharpe_sortino_nb(
    count: int, shift: float, sums: tuple[float, float, float], periods: float
) -> tuple[float, float]:
    """Annualised Sharpe (ddof 1) and Sortino (downside target 0) from ``count`` returns' sums.

    The sums are taken shifted by the first return, which keeps the variance's subtraction free
    of cancellation between two large sums.
    """
    total, squares, downside = sums
    mean_shifted = total / count
    variance = max((squares - total * mean_shifted) / (count - 1), 0.0)
    mean = shift + mean_shifted
    std = math.sqrt(variance)
    downside_deviation = math.sqrt(downside / count)
    scale = math.sqrt(periods)
    sharpe = mean / std * scale if std > 0.0 else np.nan
    sortino = mean / downside_deviation * scale if downside_deviation > 0.0 else np.nan
    return sharpe, sortino


@njit(cache=True)
def _ratios_nb(points: np.ndarray, periods: float, lowest: float) -> tuple[float, float]:
    """Annualised Sharpe and Sortino of the points' returns; NaN under 3 points or with a
    point <= 0 (``lowest`` is the lowest point)."""
    m = points.shape[0]
    if np.isnan(periods) or m < 3 or not lowest > 0.0:
        return np.nan, np.nan
    shift = points[1] / points[0] - 1.0
    total, squares, downside, _, _ = _return_sums_nb(points[:-1], points[1:], shift, 0.0, 0.0)
    return _sharpe_sortino_nb(m - 1, shift, (total, squares, downside), periods)


@njit(cache=True)
def _min_nb(values: np.ndarray) -> float:
    """The smallest value (without the branch per value of a running drawdown)."""
    lowest = values[0]
    for i in range(1, values.shape[0]):
        lowest = min(lowest, values[i])
    return lowest


@njit(cache=True)
def _count_reaching_nb(values: np.ndarray, level: int) -> int:
    """How many values are >= ``level`` (a SIMD count)."""
    count = 0
    for i in range(values.shape[0]):
        count += values[i] >= level
    return count


@njit(cache=True)
def _next_day_end_nb(tick: int, day_end: int, per_day: int) -> int:
    """The first midnight after ``tick``, which is at or after ``day_end`` (no division when it
    falls on the day after: daily bars)."""
    if tick < day_end + per_day:
        return day_end + per_day
    return (tick // per_day + 1) * per_day


@njit(cache=True, error_model="numpy")
def _scan_equity_nb(
    equity: np.ndarray, local: np.ndarray, per_day: int, shift: float
) -> tuple[float, float, tuple[float, float, float], np.ndarray]:
    """One pass over the equity in blocks: (max drawdown, lowest point, return sums, day rows).

    The max drawdown is the largest 1 - equity / running peak (one division per peak); the day
    rows are bar 0 and each calendar day's last bar (days of the ``local`` wall-clock ticks);
    the return sums are those of ``_return_sums_nb`` with ``shift``.
    """
    n = equity.shape[0]
    rows = np.empty(n + 1, dtype=np.int64)
    rows[0] = 0
    m = 1
    day_end = (local[0] // per_day + 1) * per_day
    peak = trough = lowest = equity[0]
    drawdown = total = squares = downside = 0.0
    start = 1
    while start < n:
        stop = min(start + _BLOCK, n)
        block = equity[start:stop]
        block_total, block_squares, block_downside, above, below = _return_sums_nb(
            equity[start - 1 : stop - 1], block, shift, trough, peak
        )
        total += block_total
        squares += block_squares
        downside += block_downside
        if below and not above:
            trough = min(trough, _min_nb(block))
        elif above:
            for t in range(start, stop):
                value = equity[t]
                if value > peak:
                    drawdown = max(drawdown, 1.0 - trough / peak)
                    lowest = min(lowest, trough)
                    peak = trough = value
                elif value < trough:
                    trough = value
        if _count_reaching_nb(local[start:stop], day_end):
            for t in range(start, stop):
                if local[t] >= day_end:
                    if rows[m - 1] != t - 1:
                        rows[m] = t - 1
                        m += 1
                    day_end = _next_day_end_nb(local[t], day_end, per_day)
        start = stop
    if rows[m - 1] != n - 1:
        rows[m] = n - 1
        m += 1
    drawdown = max(drawdown, 1.0 - trough / peak)
    return drawdown, min(lowest, trough), (total, squares, downside), rows[:m]


@njit(cache=True)
def equity_metrics_nb(
    equity: np.ndarray, local: np.ndarray, per_day: int, periods: float, span_years: float
) -> np.ndarray:
    """RAW_* metrics of an equity curve: growth, Sharpe, Sortino, daily Sharpe, max drawdown.

    The daily series is the equity at bar 0 and at each calendar day's last bar (days of the
    ``local`` wall-clock ticks), annualised with its points over ``span_years``.
    """
    raw = np.full(RAW_SIZE, np.nan)
    n = equity.shape[0]
    raw[RAW_GROWTH] = equity[n - 1] / equity[0]
    shift = equity[1] / equity[0] - 1.0 if n >= 2 else 0.0
    drawdown, lowest, sums, days = _scan_equity_nb(equity, local, per_day, shift)
    raw[RAW_MAX_DRAWDOWN] = drawdown
    if not np.isnan(periods) and n >= 3 and lowest > 0.0:
        raw[RAW_SHARPE], raw[RAW_SORTINO] = _sharpe_sortino_nb(n - 1, shift, sums, periods)
    daily_periods = (days.shape[0] - 1) / span_years if days.shape[0] >= 2 else np.nan
    daily = equity[days]
    raw[RAW_SHARPE_DAILY] = _ratios_nb(daily, daily_periods, daily.min())[0]
    return raw


@njit(cache=True)
def trade_stats_nb(pnl: np.ndarray, returns: np.ndarray, bars_held: np.ndarray) -> np.ndarray:
    """STATS_* of the trades' pnl, returns and bars held (one pass)."""
    m = pnl.shape[0]
    stats = np.zeros(STATS_SIZE)
    stats[STATS_COUNT] = m
    for i in range(m):
        if pnl[i] > 0.0:
            stats[STATS_WINS] += 1.0
            stats[STATS_GROSS_PROFIT] += pnl[i]
        elif pnl[i] < 0.0:
            stats[STATS_GROSS_LOSS] -= pnl[i]
        stats[STATS_SUM_RETURN] += returns[i]
        stats[STATS_BARS_HELD] += bars_held[i]
    return stats


@njit(cache=True)
def record_stats_nb(records: np.ndarray) -> np.ndarray:
    """STATS_* of TRADE_RECORD_DTYPE records (their return as the trades table computes it)."""
    m = records.shape[0]
    pnl = np.empty(m)
    returns = np.empty(m)
    bars_held = np.empty(m, dtype=np.int64)
    for i in range(m):
        pnl[i] = records[i]["pnl"]
        returns[i] = pnl[i] / (records[i]["size"] * records[i]["entry_price"])
        bars_held[i] = records[i]["bars_held"]
    return trade_stats_nb(pnl, returns, bars_held)


@dataclass(frozen=True)
class BarClock:
    """A bars index as integer ticks: UTC, wall clock of its time zone, ticks per second."""

    utc: np.ndarray
    local: np.ndarray
    per_second: int
    periods_per_year: float | None

    span_seconds: float

    @classmethod
    def of(cls, index: pd.DatetimeIndex) -> BarClock:
        """Read the index's ticks without converting them (a view of its int64 values)."""
        utc = index.asi8
        utc_zone = index.tz is None or str(index.tz) == "UTC"
        local = utc if utc_zone else index.tz_localize(None).asi8
        per_second = _TICKS_PER_SECOND[index.unit]
        # From the ticks: Timestamp arithmetic costs more than a short simulation.
        span_seconds = int(utc[-1] - utc[0]) / per_second
        periods = periods_over_span(len(utc), span_seconds)
        return cls(utc, local, per_second, periods, span_seconds)

    @property
    def span_days(self) -> float:
        """Calendar days between the first and the last bar."""
        return self.span_seconds / SECONDS_PER_DAY

    def days_to_next_close(self) -> np.ndarray:
        """Calendar days from each bar's close to the next one's (0 at the last bar)."""
        days = np.empty(len(self.utc))
        days[-1] = 0.0
        days[:-1] = np.diff(self.utc) / (self.per_second * 86_400)
        return days

    @property
    def span_years(self) -> float:
        """Years (of 365.25 days) between the first and the last bar."""
        return self.span_seconds / SECONDS_PER_YEAR

    @property
    def per_day(self) -> int:
        """Ticks per calendar day."""
        return self.per_second * 86_400

    @property
    def periods(self) -> float:
        """periods_per_year, NaN for a single bar (the kernels take no None)."""
        return np.nan if self.periods_per_year is None else self.periods_per_year

    def equity_metrics(self, equity: np.ndarray) -> np.ndarray:
        """RAW_* metrics of an equity curve on these bars."""
        return equity_metrics_nb(equity, self.local, self.per_day, self.periods, self.span_years)


def metrics_from_raw(
    raw: np.ndarray, stats: np.ndarray, clock: BarClock, buy_and_hold_return: float
) -> Metrics:
    """The METRIC_NAMES dict from the kernels' raw equity metrics and trade statistics of a
    run on the bars of ``clock``."""
    span_days = clock.span_days
    growth = float(raw[RAW_GROWTH])
    metrics: Metrics = {
        "total_return": finite_or_none(growth - 1.0),
        "annualized_return": annualized_return(growth, len(clock.utc), clock.periods_per_year),
        "annualized_from_days": span_days,
        "annualization_reliable": span_days >= MIN_RELIABLE_ANNUALIZATION_DAYS,
        "sharpe_ratio": finite_or_none(raw[RAW_SHARPE]),
        "sharpe_ratio_daily": finite_or_none(raw[RAW_SHARPE_DAILY]),
        "sortino_ratio": finite_or_none(raw[RAW_SORTINO]),
        "max_drawdown": finite_or_none(raw[RAW_MAX_DRAWDOWN]),
        **trade_metrics(stats, len(clock.utc)),
        "buy_and_hold_return": finite_or_none(buy_and_hold_return),
    }
    return {name: metrics[name] for name in METRIC_NAMES}


def trade_metrics(stats: np.ndarray, n_bars: int) -> dict[str, Any]:
    """The metrics of trade statistics over ``n_bars`` bars: total_trades, win_rate,
    profit_factor, avg_trade_return and exposure (None where undefined)."""
    count = int(stats[STATS_COUNT])
    gross_loss = stats[STATS_GROSS_LOSS]
    return {
        "total_trades": count,
        "win_rate": float(stats[STATS_WINS] / count) if count else None,
        "profit_factor": (
            finite_or_none(stats[STATS_GROSS_PROFIT] / gross_loss)
            if count and gross_loss > 0
            else None
        ),
        "avg_trade_return": finite_or_none(stats[STATS_SUM_RETURN] / count) if count else None,
        "exposure": float(stats[STATS_BARS_HELD] / n_bars),
    }


def metrics_table(
    raw: np.ndarray, stats: np.ndarray, clock: BarClock, buy_and_hold_return: float
) -> pd.DataFrame:
    """One METRIC_NAMES row per row of ``raw`` and ``stats`` (undefined metrics are NaN)."""
    rows = [
        metrics_from_raw(raw[j], stats[j], clock, buy_and_hold_return) for j in range(raw.shape[0])
    ]
    table = pd.DataFrame(rows, columns=list(METRIC_NAMES))
    return table.astype({name: float for name in METRIC_NAMES if name not in _NOT_FLOAT})
