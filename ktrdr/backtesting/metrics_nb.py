"""The backtest metrics computed inside numba from the equity and the trade statistics.

The same definitions as :func:`ktrdr.backtesting.metrics.compute_metrics` (which stays the pure
pandas reference for stitched and stored results), in a few passes over the equity with no
temporary arrays, so a simulation's metrics cost about as much as its kernel.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd
from numba import njit

from ktrdr.backtesting.fills import (
    STATS_BARS_HELD,
    STATS_COUNT,
    STATS_GROSS_LOSS,
    STATS_GROSS_PROFIT,
    STATS_SUM_RETURN,
    STATS_WINS,
)
from ktrdr.backtesting.metrics import (
    _SECONDS_PER_DAY,
    _SECONDS_PER_YEAR,
    METRIC_NAMES,
    MIN_RELIABLE_ANNUALIZATION_DAYS,
    Metrics,
    _annualized_return,
    _finite_or_none,
)
from ktrdr.errors import ValidationError

_TICKS_PER_SECOND = {"s": 1, "ms": 1_000, "us": 1_000_000, "ns": 1_000_000_000}

# Slots of the raw metrics array (NaN = undefined).
RAW_GROWTH = 0
RAW_SHARPE = 1
RAW_SORTINO = 2
RAW_SHARPE_DAILY = 3
RAW_MAX_DRAWDOWN = 4
RAW_SIZE = 5


@njit(cache=True)
def _ratios_nb(equity: np.ndarray, rows: np.ndarray, periods: float) -> tuple[float, float]:
    """Annualised Sharpe and Sortino of the returns between equity[rows] (all rows if empty)."""
    m = rows.shape[0] if rows.shape[0] > 0 else equity.shape[0]
    if np.isnan(periods) or m < 3:
        return np.nan, np.nan
    total = 0.0
    downside = 0.0
    previous = equity[rows[0]] if rows.shape[0] > 0 else equity[0]
    for i in range(1, m):
        current = equity[rows[i]] if rows.shape[0] > 0 else equity[i]
        if previous <= 0.0 or current <= 0.0:
            return np.nan, np.nan
        r = current / previous - 1.0
        total += r
        if r < 0.0:
            downside += r * r
        previous = current
    mean = total / (m - 1)
    squares = 0.0
    previous = equity[rows[0]] if rows.shape[0] > 0 else equity[0]
    for i in range(1, m):
        current = equity[rows[i]] if rows.shape[0] > 0 else equity[i]
        deviation = current / previous - 1.0 - mean
        squares += deviation * deviation
        previous = current
    std = math.sqrt(squares / (m - 2))
    scale = math.sqrt(periods)
    downside = math.sqrt(downside / (m - 1))
    sharpe = mean / std * scale if std > 0.0 else np.nan
    sortino = mean / downside * scale if downside > 0.0 else np.nan
    return sharpe, sortino


@njit(cache=True)
def _day_closes_nb(local_ns: np.ndarray, per_day: int) -> np.ndarray:
    """Bar 0 and each calendar day's last bar (days of the given wall-clock ticks)."""
    n = local_ns.shape[0]
    rows = np.empty(n + 1, dtype=np.int64)
    m = 0
    for t in range(n):
        if t == n - 1 or local_ns[t] // per_day != local_ns[t + 1] // per_day:
            if m == 0 and t != 0:
                rows[0] = 0
                m = 1
            rows[m] = t
            m += 1
    return rows[:m]


@njit(cache=True)
def _periods_nb(utc_ns: np.ndarray, rows: np.ndarray, per_second: int) -> float:
    m = rows.shape[0]
    if m < 2:
        return np.nan
    span = (utc_ns[rows[m - 1]] - utc_ns[rows[0]]) / per_second
    return (m - 1) / (span / _SECONDS_PER_YEAR)


@njit(cache=True)
def equity_metrics_nb(
    equity: np.ndarray, utc_ns: np.ndarray, local_ns: np.ndarray, per_second: int, periods: float
) -> np.ndarray:
    """RAW_* metrics of an equity curve: growth, Sharpe, Sortino, daily Sharpe, max drawdown."""
    raw = np.empty(RAW_SIZE)
    n = equity.shape[0]
    raw[RAW_GROWTH] = equity[n - 1] / equity[0]
    no_rows = np.empty(0, dtype=np.int64)
    raw[RAW_SHARPE], raw[RAW_SORTINO] = _ratios_nb(equity, no_rows, periods)
    days = _day_closes_nb(local_ns, per_second * 86_400)
    raw[RAW_SHARPE_DAILY] = _ratios_nb(equity, days, _periods_nb(utc_ns, days, per_second))[0]
    peak = equity[0]
    drawdown = 0.0
    for t in range(n):
        peak = max(peak, equity[t])
        drawdown = max(drawdown, 1.0 - equity[t] / peak)
    raw[RAW_MAX_DRAWDOWN] = drawdown
    return raw


@dataclass(frozen=True)
class BarClock:
    """A bars index as integer ticks: UTC, wall clock of its time zone, ticks per second."""

    utc: np.ndarray
    local: np.ndarray
    per_second: int
    periods_per_year: float | None

    @classmethod
    def of(cls, index: pd.DatetimeIndex) -> BarClock:
        """Read the index's ticks without converting them (a view of its int64 values)."""
        utc = index.asi8
        local = utc if index.tz is None else index.tz_localize(None).asi8
        per_second = _TICKS_PER_SECOND[index.unit]
        if len(index) < 2:
            return cls(utc, local, per_second, None)
        span = (utc[-1] - utc[0]) / per_second
        if span <= 0:
            raise ValidationError(f"bars index must be strictly increasing, spans {span} s")
        return cls(utc, local, per_second, (len(index) - 1) / (span / _SECONDS_PER_YEAR))

    @property
    def span_days(self) -> float:
        """Calendar days between the first and the last bar."""
        return float((self.utc[-1] - self.utc[0]) / self.per_second / _SECONDS_PER_DAY)

    def days_between_closes(self) -> np.ndarray:
        """Calendar days from each bar to the previous one (0 at bar 0)."""
        days = np.empty(len(self.utc))
        days[0] = 0.0
        days[1:] = np.diff(self.utc) / (self.per_second * 86_400)
        return days

    def equity_metrics(self, equity: np.ndarray) -> np.ndarray:
        """RAW_* metrics of an equity curve on these bars."""
        periods = np.nan if self.periods_per_year is None else self.periods_per_year
        return equity_metrics_nb(equity, self.utc, self.local, self.per_second, periods)


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
