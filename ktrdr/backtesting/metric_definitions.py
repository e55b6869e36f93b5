"""The backtest metrics' names, the bars-per-year clock and the helpers every path shares."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from ktrdr.errors import ValidationError

METRIC_NAMES: tuple[str, ...] = (
    "total_return",
    "annualized_return",
    "annualized_from_days",
    "annualization_reliable",
    "sharpe_ratio",
    "sharpe_ratio_daily",
    "sortino_ratio",
    "max_drawdown",
    "win_rate",
    "profit_factor",
    "total_trades",
    "avg_trade_return",
    "exposure",
    "buy_and_hold_return",
)

DAYS_PER_YEAR = 365.25
# Annualised figures from a shorter span are extrapolations: flagged, not hidden.
MIN_RELIABLE_ANNUALIZATION_DAYS = 365.0
SECONDS_PER_DAY = 86_400.0
SECONDS_PER_YEAR = DAYS_PER_YEAR * SECONDS_PER_DAY
_MAX_LOG_GROWTH = math.log(np.finfo(np.float64).max)

Metrics = dict[str, float | int | bool | None]


def periods_per_year(index: pd.DatetimeIndex) -> float | None:
    """Return the observed bars per year: (bars - 1) intervals / years spanned, None under 2 bars.

    Counting the bars actually observed (rather than 365.25 days / median spacing) gives ~252 for
    daily equities with weekend gaps and ~365 for daily crypto, and likewise discounts the
    overnight gaps of intraday equities. Example: 253 daily equity bars over one calendar year ->
    252 periods per year.
    """
    if len(index) < 2:
        return None
    return periods_over_span(len(index), (index[-1] - index[0]).total_seconds())


def periods_over_span(n_bars: int, span_seconds: float) -> float | None:
    """:func:`periods_per_year` of ``n_bars`` bars spanning ``span_seconds``."""
    if n_bars < 2:
        return None
    if span_seconds <= 0:
        raise ValidationError(f"bars index must be strictly increasing, spans {span_seconds} s")
    return (n_bars - 1) / (span_seconds / SECONDS_PER_YEAR)


def finite_or_none(value: float) -> float | None:
    """``value`` as a float, None when NaN or infinite (metrics are never NaN or inf)."""
    return float(value) if math.isfinite(value) else None


def annualized_return(growth: float, n_bars: int, periods: float | None) -> float | None:
    """growth ** (periods / (n_bars - 1)) - 1; -1.0 at growth <= 0; None on overflow."""
    if periods is None:
        return None
    if growth <= 0:
        return -1.0
    # In log space: a short sample of minute bars compounds to overflow (reported as None).
    log_growth = math.log(growth) * periods / (n_bars - 1)
    return math.expm1(log_growth) if log_growth < _MAX_LOG_GROWTH else None
