"""The backtest metrics computed inside numba from the equity and the trade statistics.

The same definitions as :func:`ktrdr.backtesting.metrics.compute_metrics` (the pandas reference,
used for stitched results) with the same operations in the same order and numpy's pairwise
summation, so the two give bit-identical figures, without pandas and its temporaries.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd
from numba import njit

from ktrdr.backtesting.metrics import (
    _SECONDS_PER_DAY,
    _SECONDS_PER_YEAR,
    METRIC_NAMES,
    MIN_RELIABLE_ANNUALIZATION_DAYS,
    Metrics,
    _annualized_return,
    _finite_or_none,
    periods_per_year,
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
_PAIRWISE_BLOCK = 128
_STACK = 192  # room for numpy's pairwise tree over any array that fits in memory


# What _term_nb reads as the i-th term of a sum over ``points``.
_VALUE = 0  # points[i]
_RETURN = 1  # points[i + 1] / points[i] - 1
_SQUARED_DEVIATION = 2  # (return - mean) ** 2
_SQUARED_LOSS = 3  # min(return, 0) ** 2


@njit(cache=True)
def _term_nb(points: np.ndarray, i: int, kind: int, mean: float) -> float:
    if kind == _VALUE:
        return points[i]
    r = points[i + 1] / points[i] - 1.0
    if kind == _RETURN:
        return r
    if kind == _SQUARED_DEVIATION:
        deviation = r - mean
        return deviation * deviation
    loss = min(r, 0.0)
    return loss * loss


@njit(cache=True)
def _block_sum_nb(points: np.ndarray, lo: int, n: int, kind: int, mean: float) -> float:
    """numpy's sum of a block of at most 128 terms: 8 accumulators, then the rest in order."""
    if n < 8:
        total = -0.0
        for i in range(lo, lo + n):
            total += _term_nb(points, i, kind, mean)
        return total
    r0, r1 = _term_nb(points, lo, kind, mean), _term_nb(points, lo + 1, kind, mean)
    r2, r3 = _term_nb(points, lo + 2, kind, mean), _term_nb(points, lo + 3, kind, mean)
    r4, r5 = _term_nb(points, lo + 4, kind, mean), _term_nb(points, lo + 5, kind, mean)
    r6, r7 = _term_nb(points, lo + 6, kind, mean), _term_nb(points, lo + 7, kind, mean)
    i = 8
    while i < n - (n % 8):
        k = lo + i
        r0 += _term_nb(points, k, kind, mean)
        r1 += _term_nb(points, k + 1, kind, mean)
        r2 += _term_nb(points, k + 2, kind, mean)
        r3 += _term_nb(points, k + 3, kind, mean)
        r4 += _term_nb(points, k + 4, kind, mean)
        r5 += _term_nb(points, k + 5, kind, mean)
        r6 += _term_nb(points, k + 6, kind, mean)
        r7 += _term_nb(points, k + 7, kind, mean)
        i += 8
    total = ((r0 + r1) + (r2 + r3)) + ((r4 + r5) + (r6 + r7))
    while i < n:
        total += _term_nb(points, lo + i, kind, mean)
        i += 1
    return total


@njit(cache=True)
def _pairwise_sum_nb(points: np.ndarray, n: int, kind: int, mean: float) -> float:
    """``np.sum`` of n terms, bit for bit: numpy's pairwise summation.

    numpy halves a segment (at a multiple of 8) until it is at most 128 long and adds the two
    halves' sums; this walks the same tree with an explicit stack (numba cannot cache recursive
    functions), so every addition happens in numpy's order. The terms are computed on the fly
    (returns, squared deviations, squared losses): no temporary arrays.
    """
    if n == 0:
        return 0.0
    starts = np.empty(_STACK, dtype=np.int64)
    lengths = np.empty(_STACK, dtype=np.int64)
    combine = np.empty(_STACK, dtype=np.bool_)
    values = np.empty(_STACK)
    starts[0], lengths[0], combine[0] = 0, n, False
    top, n_values = 1, 0
    while top:
        top -= 1
        lo, size = starts[top], lengths[top]
        if combine[top]:
            n_values -= 1
            values[n_values - 1] = values[n_values - 1] + values[n_values]
        elif size <= _PAIRWISE_BLOCK:
            values[n_values] = _block_sum_nb(points, lo, size, kind, mean)
            n_values += 1
        else:
            half = size // 2
            half -= half % 8
            # Popped in this order: the left half, the right half, then their sum.
            starts[top], lengths[top], combine[top] = lo, size, True
            starts[top + 1], lengths[top + 1], combine[top + 1] = lo + half, size - half, False
            starts[top + 2], lengths[top + 2], combine[top + 2] = lo, half, False
            top += 3
    return values[0]


@njit(cache=True)
def numpy_sum_nb(values: np.ndarray) -> float:
    """``np.sum`` of a 1-D float64 array, bit for bit (numba's own sum adds in order)."""
    return _pairwise_sum_nb(values, values.shape[0], _VALUE, 0.0)


@njit(cache=True)
def _ratios_nb(points: np.ndarray, periods: float) -> tuple[float, float]:
    """Annualised Sharpe (ddof 1) and Sortino (downside target 0) of the points' returns.

    The same operations in the same order as :func:`ktrdr.backtesting.metrics._return_ratios`,
    with numpy's summation, so both give identical figures.
    """
    m = points.shape[0]
    if np.isnan(periods) or m < 3:
        return np.nan, np.nan
    for i in range(m):
        if points[i] <= 0.0:
            return np.nan, np.nan
    count = m - 1
    mean = _pairwise_sum_nb(points, count, _RETURN, 0.0) / count
    std = math.sqrt(_pairwise_sum_nb(points, count, _SQUARED_DEVIATION, mean) / (count - 1))
    downside = math.sqrt(_pairwise_sum_nb(points, count, _SQUARED_LOSS, 0.0) / count)
    scale = math.sqrt(periods)
    sharpe = mean / std * scale if std > 0.0 else np.nan
    sortino = mean / downside * scale if downside > 0.0 else np.nan
    return sharpe, sortino


@njit(cache=True)
def _day_closes_nb(local: np.ndarray, per_day: int) -> np.ndarray:
    """Bar 0 and each calendar day's last bar (one division per day, not per bar)."""
    n = local.shape[0]
    rows = np.empty(n + 1, dtype=np.int64)
    m = 0
    day_end = (local[0] // per_day + 1) * per_day
    for t in range(n):
        if t == n - 1 or local[t + 1] >= day_end:
            if m == 0 and t != 0:
                rows[0] = 0
                m = 1
            rows[m] = t
            m += 1
            if t < n - 1:
                day_end = (local[t + 1] // per_day + 1) * per_day
    return rows[:m]


@njit(cache=True)
def equity_metrics_nb(
    equity: np.ndarray, local: np.ndarray, per_day: int, periods: float, span_years: float
) -> np.ndarray:
    """RAW_* metrics of an equity curve: growth, Sharpe, Sortino, daily Sharpe, max drawdown.

    The daily series is the equity at bar 0 and at each calendar day's last bar (days of the
    ``local`` wall-clock ticks), annualised with its points over ``span_years``.
    """
    raw = np.empty(RAW_SIZE)
    n = equity.shape[0]
    raw[RAW_GROWTH] = equity[n - 1] / equity[0]
    raw[RAW_SHARPE], raw[RAW_SORTINO] = _ratios_nb(equity, periods)
    days = _day_closes_nb(local, per_day)
    daily_periods = (days.shape[0] - 1) / span_years if days.shape[0] >= 2 else np.nan
    raw[RAW_SHARPE_DAILY] = _ratios_nb(equity[days], daily_periods)[0]
    peak = equity[0]
    drawdown = 0.0
    for t in range(n):
        if equity[t] >= peak:  # a new peak: its drawdown is 0
            peak = equity[t]
        else:
            drawdown = max(drawdown, 1.0 - equity[t] / peak)
    raw[RAW_MAX_DRAWDOWN] = drawdown
    return raw


@njit(cache=True)
def trade_stats_nb(records: np.ndarray) -> np.ndarray:
    """STATS_* of TRADE_RECORD_DTYPE records, summed as compute_metrics sums the trades table."""
    m = records.shape[0]
    returns = np.empty(m)
    gains = np.empty(m)
    losses = np.empty(m)
    n_gains = n_losses = 0
    bars_held = 0
    for i in range(m):
        pnl = records[i]["pnl"]
        returns[i] = pnl / (records[i]["size"] * records[i]["entry_price"])
        if pnl > 0.0:
            gains[n_gains] = pnl
            n_gains += 1
        elif pnl < 0.0:
            losses[n_losses] = pnl
            n_losses += 1
        bars_held += records[i]["bars_held"]
    stats = np.empty(STATS_SIZE)
    stats[STATS_COUNT] = m
    stats[STATS_WINS] = n_gains
    stats[STATS_GROSS_PROFIT] = numpy_sum_nb(gains[:n_gains])
    stats[STATS_GROSS_LOSS] = -numpy_sum_nb(losses[:n_losses])
    stats[STATS_SUM_RETURN] = numpy_sum_nb(returns)
    stats[STATS_BARS_HELD] = bars_held
    return stats


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
        span_seconds = (index[-1] - index[0]).total_seconds()
        periods = periods_per_year(index)
        return cls(utc, local, _TICKS_PER_SECOND[index.unit], periods, span_seconds)

    @property
    def span_days(self) -> float:
        """Calendar days between the first and the last bar."""
        return self.span_seconds / _SECONDS_PER_DAY

    def days_to_next_close(self) -> np.ndarray:
        """Calendar days from each bar's close to the next one's (0 at the last bar)."""
        days = np.empty(len(self.utc))
        days[-1] = 0.0
        days[:-1] = np.diff(self.utc) / (self.per_second * 86_400)
        return days

    @property
    def span_years(self) -> float:
        """Years (of 365.25 days) between the first and the last bar."""
        return self.span_seconds / _SECONDS_PER_YEAR

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
    raw: np.ndarray,
    stats: np.ndarray,
    *,
    n_bars: int,
    span_days: float,
    periods: float | None,
    buy_and_hold_return: float,
) -> Metrics:
    """The METRIC_NAMES dict from the kernels' raw equity metrics and trade statistics."""
    growth = float(raw[RAW_GROWTH])
    count = int(stats[STATS_COUNT])
    gross_loss = stats[STATS_GROSS_LOSS]
    metrics: Metrics = {
        "total_return": _finite_or_none(growth - 1.0),
        "annualized_return": _annualized_return(growth, n_bars, periods),
        "annualized_from_days": span_days,
        "annualization_reliable": span_days >= MIN_RELIABLE_ANNUALIZATION_DAYS,
        "sharpe_ratio": _finite_or_none(raw[RAW_SHARPE]),
        "sharpe_ratio_daily": _finite_or_none(raw[RAW_SHARPE_DAILY]),
        "sortino_ratio": _finite_or_none(raw[RAW_SORTINO]),
        "max_drawdown": _finite_or_none(raw[RAW_MAX_DRAWDOWN]),
        "win_rate": float(stats[STATS_WINS] / count) if count else None,
        "profit_factor": (
            _finite_or_none(stats[STATS_GROSS_PROFIT] / gross_loss)
            if count and gross_loss > 0
            else None
        ),
        "total_trades": count,
        "avg_trade_return": _finite_or_none(stats[STATS_SUM_RETURN] / count) if count else None,
        "exposure": float(stats[STATS_BARS_HELD] / n_bars),
        "buy_and_hold_return": _finite_or_none(buy_and_hold_return),
    }
    return {name: metrics[name] for name in METRIC_NAMES}


def metrics_table(
    raw: np.ndarray,
    stats: np.ndarray,
    *,
    n_bars: int,
    span_days: float,
    periods: float | None,
    buy_and_hold_return: float,
) -> pd.DataFrame:
    """One METRIC_NAMES row per row of ``raw`` and ``stats`` (undefined metrics are NaN)."""
    rows = [
        metrics_from_raw(
            raw[j],
            stats[j],
            n_bars=n_bars,
            span_days=span_days,
            periods=periods,
            buy_and_hold_return=buy_and_hold_return,
        )
        for j in range(raw.shape[0])
    ]
    table = pd.DataFrame(rows, columns=list(METRIC_NAMES))
    return table.astype({name: float for name in METRIC_NAMES if name not in _NOT_FLOAT})
