"""The backtest metrics computed inside numba from the equity and the trade statistics.

The same definitions as :func:`ktrdr.backtesting.metrics.compute_metrics` (which stays the pure
pandas reference for stitched and stored results), in one pass over the equity with no
temporary arrays, so a simulation's metrics cost a fraction of its kernel.
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

_NOT_FLOAT = ("total_trades", "annualization_reliable")
_TICKS_PER_SECOND = {"s": 1, "ms": 1_000, "us": 1_000_000, "ns": 1_000_000_000}

# Slots of the raw metrics array (NaN = undefined).
RAW_GROWTH = 0
RAW_SHARPE = 1
RAW_SORTINO = 2
RAW_SHARPE_DAILY = 3
RAW_MAX_DRAWDOWN = 4
RAW_SIZE = 5


@njit(cache=True)
def _add_return_nb(
    stat: tuple[float, float, float, float, float, float], previous: float, current: float
) -> tuple[float, float, float, float, float, float]:
    """Fold one return into (count, shift, shifted sum, shifted squares, downside squares, broken).

    Sums of the returns shifted by the first one: the shifted-data variance keeps the precision
    of the two-pass formula in one pass. ``broken`` is 1 once an equity point was <= 0 (the
    ratios are then undefined). Scalars in, scalars out, so the loop keeps them in registers.
    """
    count, shift, total, squares, downside, broken = stat
    if previous <= 0.0 or current <= 0.0:
        return count, shift, total, squares, downside, 1.0
    r = current / previous - 1.0
    if count == 0.0:
        shift = r
    shifted = r - shift
    if r < 0.0:
        downside += r * r
    return count + 1.0, shift, total + shifted, squares + shifted * shifted, downside, broken


@njit(cache=True)
def _ratios_nb(
    stat: tuple[float, float, float, float, float, float], periods: float
) -> tuple[float, float]:
    """Annualised Sharpe (ddof 1) and Sortino (downside target 0) of a return statistic."""
    count, shift, total, squares, downside, broken = stat
    if np.isnan(periods) or broken or count < 2.0:
        return np.nan, np.nan
    mean = shift + total / count
    std = math.sqrt(max(squares - total * total / count, 0.0) / (count - 1.0))
    downside = math.sqrt(downside / count)
    scale = math.sqrt(periods)
    sharpe = mean / std * scale if std > 0.0 else np.nan
    sortino = mean / downside * scale if downside > 0.0 else np.nan
    return sharpe, sortino


@njit(cache=True)
def equity_metrics_nb(
    equity: np.ndarray, utc: np.ndarray, local: np.ndarray, per_second: int, periods: float
) -> np.ndarray:
    """RAW_* metrics of an equity curve in one pass: growth, Sharpe, Sortino, daily Sharpe, DD.

    The daily series is the equity at bar 0 and at each calendar day's last bar (days of the
    ``local`` wall-clock ticks), annualised with its observed days per year.
    """
    n = equity.shape[0]
    per_day = per_second * 86_400
    bars = (0.0, 0.0, 0.0, 0.0, 0.0, 0.0)
    days = (0.0, 0.0, 0.0, 0.0, 0.0, 0.0)
    day_end = (local[0] // per_day + 1) * per_day
    day_equity = peak = equity[0]
    drawdown = 0.0
    for t in range(n):
        current = equity[t]
        if t > 0:
            bars = _add_return_nb(bars, equity[t - 1], current)
        last_of_day = t == n - 1 or local[t + 1] >= day_end
        if last_of_day and t > 0:
            days = _add_return_nb(days, day_equity, current)
            day_equity = current
        if last_of_day and t < n - 1:
            day_end = (local[t + 1] // per_day + 1) * per_day
        if current > peak:
            peak = current
        elif current < peak * (1.0 - drawdown):
            drawdown = 1.0 - current / peak
    raw = np.empty(RAW_SIZE)
    raw[RAW_GROWTH] = equity[n - 1] / equity[0]
    raw[RAW_SHARPE], raw[RAW_SORTINO] = _ratios_nb(bars, periods)
    daily_periods = np.nan
    if days[0] >= 1.0:
        daily_periods = days[0] / ((utc[n - 1] - utc[0]) / per_second / _SECONDS_PER_YEAR)
    raw[RAW_SHARPE_DAILY] = _ratios_nb(days, daily_periods)[0]
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
        utc_zone = index.tz is None or str(index.tz) == "UTC"
        local = utc if utc_zone else index.tz_localize(None).asi8
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
