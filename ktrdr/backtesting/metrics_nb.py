"""The backtest metrics computed inside numba from the equity and the trade statistics.

The one implementation of the definitions in :func:`ktrdr.backtesting.metrics.compute_metrics`:
the simulators, ``simulate_many`` and ``compute_metrics`` (stitched results) all call these, in
one pass over the equity, without pandas and its temporaries.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

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


# numpy's error model drops the zero-divisor check that keeps the division off SIMD lanes:
# the caller passes only points > 0.
@njit(cache=True, fastmath={"reassoc"}, error_model="numpy")
def _return_sums_nb(points: np.ndarray, shift: float) -> tuple[float, float, float]:
    """Sums over the points' returns r: (r - shift), (r - shift) ** 2 and min(r, 0) ** 2;
    reassociated so that the loop runs on SIMD lanes (a running minimum here would stop that)."""
    total = squares = downside = 0.0
    for i in range(points.shape[0] - 1):
        r = points[i + 1] / points[i] - 1.0
        d = r - shift
        total += d
        squares += d * d
        loss = r if r < 0.0 else 0.0
        downside += loss * loss
    return total, squares, downside


@njit(cache=True)
def _ratios_nb(points: np.ndarray, periods: float, lowest: float) -> tuple[float, float]:
    """Annualised Sharpe (ddof 1) and Sortino (downside target 0) of the points' returns.

    One pass; the sums are taken shifted by the first return, which keeps the variance's
    subtraction free of cancellation between two large sums. NaN under 3 points or with a
    point <= 0 (``lowest`` is the lowest point).
    """
    m = points.shape[0]
    if np.isnan(periods) or m < 3 or not lowest > 0.0:
        return np.nan, np.nan
    count = m - 1
    shift = points[1] / points[0] - 1.0
    total, squares, downside = _return_sums_nb(points, shift)
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
def _max_drawdown_nb(equity: np.ndarray) -> tuple[float, float]:
    """The largest 1 - equity / running peak (one division per peak, not per bar), lowest point."""
    peak = trough = lowest = equity[0]
    drawdown = 0.0
    for t in range(1, equity.shape[0]):
        value = equity[t]
        if value > peak:
            drawdown = max(drawdown, 1.0 - trough / peak)
            lowest = min(lowest, trough)
            peak = trough = value
        elif value < trough:
            trough = value
    return max(drawdown, 1.0 - trough / peak), min(lowest, trough)


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
    raw[RAW_MAX_DRAWDOWN], lowest = _max_drawdown_nb(equity)
    raw[RAW_SHARPE], raw[RAW_SORTINO] = _ratios_nb(equity, periods, lowest)
    days = _day_closes_nb(local, per_day)
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
        span_seconds = (index[-1] - index[0]).total_seconds()
        periods = periods_per_year(index)
        return cls(utc, local, _TICKS_PER_SECOND[index.unit], periods, span_seconds)

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
        "total_return": finite_or_none(growth - 1.0),
        "annualized_return": annualized_return(growth, n_bars, periods),
        "annualized_from_days": span_days,
        "annualization_reliable": span_days >= MIN_RELIABLE_ANNUALIZATION_DAYS,
        "sharpe_ratio": finite_or_none(raw[RAW_SHARPE]),
        "sharpe_ratio_daily": finite_or_none(raw[RAW_SHARPE_DAILY]),
        "sortino_ratio": finite_or_none(raw[RAW_SORTINO]),
        "max_drawdown": finite_or_none(raw[RAW_MAX_DRAWDOWN]),
        "win_rate": float(stats[STATS_WINS] / count) if count else None,
        "profit_factor": (
            finite_or_none(stats[STATS_GROSS_PROFIT] / gross_loss)
            if count and gross_loss > 0
            else None
        ),
        "total_trades": count,
        "avg_trade_return": finite_or_none(stats[STATS_SUM_RETURN] / count) if count else None,
        "exposure": float(stats[STATS_BARS_HELD] / n_bars),
        "buy_and_hold_return": finite_or_none(buy_and_hold_return),
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
