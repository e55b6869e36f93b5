"""Backtest metrics: a pure function of (trades, equity, bars), separate from the simulation."""

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
_SECONDS_PER_DAY = 86_400.0
_SECONDS_PER_YEAR = DAYS_PER_YEAR * _SECONDS_PER_DAY
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
    span_seconds = (index[-1] - index[0]).total_seconds()
    if span_seconds <= 0:
        raise ValidationError(f"bars index must be strictly increasing, spans {span_seconds} s")
    return (len(index) - 1) / (span_seconds / _SECONDS_PER_YEAR)


def _finite_or_none(value: float) -> float | None:
    return float(value) if math.isfinite(value) else None


def _return_ratios(equity: np.ndarray, periods: float | None) -> tuple[float | None, float | None]:
    """Annualised Sharpe and Sortino (risk-free 0, downside target 0) of per-bar equity returns."""
    if periods is None or len(equity) < 3 or np.any(equity <= 0):
        return None, None
    returns = equity[1:] / equity[:-1] - 1.0
    mean = returns.mean()
    scale = math.sqrt(periods)
    std = returns.std(ddof=1)
    sharpe = mean / std * scale if std > 0 else math.nan
    downside = math.sqrt(np.mean(np.minimum(returns, 0.0) ** 2))
    sortino = mean / downside * scale if downside > 0 else math.nan
    return _finite_or_none(sharpe), _finite_or_none(sortino)


def _daily_sharpe(equity: np.ndarray, index: pd.DatetimeIndex) -> float | None:
    """Annualised Sharpe of the equity at bar 0 and at each calendar (UTC) day's last bar.

    Days are cut at UTC midnight, so a market that opens on Sunday evening (FX) has a short
    Sunday "day" each week; its near-zero return slightly lowers the figure.
    """
    days = index.normalize()
    closes = np.flatnonzero(np.append(days[1:] != days[:-1], True))
    if closes[0] != 0:
        # Bar 0's equity is the starting capital (nothing fills before bar 1's open): the first
        # day's return runs from it to that day's close.
        closes = np.insert(closes, 0, 0)
    sharpe, _ = _return_ratios(equity[closes], periods_per_year(index[closes]))
    return sharpe


def _annualized_return(growth: float, n_bars: int, periods: float | None) -> float | None:
    if periods is None:
        return None
    if growth <= 0:
        return -1.0
    # In log space: a short sample of minute bars compounds to overflow (reported as None).
    log_growth = math.log(growth) * periods / (n_bars - 1)
    return math.expm1(log_growth) if log_growth < _MAX_LOG_GROWTH else None


def _max_drawdown(equity: np.ndarray) -> float:
    peaks = np.maximum.accumulate(equity)
    return float(np.max(1.0 - equity / peaks))


def _trade_metrics(trades: pd.DataFrame) -> Metrics:
    if trades.empty:
        return {"win_rate": None, "profit_factor": None, "avg_trade_return": None}
    pnl = trades["pnl"].to_numpy(dtype=np.float64)
    gross_loss = -pnl[pnl < 0].sum()
    profit_factor = pnl[pnl > 0].sum() / gross_loss if gross_loss > 0 else math.nan
    return {
        "win_rate": float(np.mean(pnl > 0)),
        "profit_factor": _finite_or_none(profit_factor),
        "avg_trade_return": _finite_or_none(trades["return"].to_numpy(dtype=np.float64).mean()),
    }


def _check_inputs(trades: pd.DataFrame, equity: pd.Series, bars: pd.DataFrame) -> None:
    if len(bars) == 0:
        raise ValidationError("bars is empty: metrics need at least one bar")
    if not isinstance(bars.index, pd.DatetimeIndex):
        kind = type(bars.index).__name__
        raise ValidationError(f"bars index must be a DatetimeIndex, got {kind}")
    if len(equity) != len(bars):
        raise ValidationError(f"equity has {len(equity)} points, bars has {len(bars)}: must match")
    missing = {"pnl", "return", "bars_held"} - set(trades.columns)
    if missing:
        raise ValidationError(f"trades lacks columns {sorted(missing)}")


def compute_metrics(trades: pd.DataFrame, equity: pd.Series, bars: pd.DataFrame) -> Metrics:
    """Compute the DESIGN §8 backtest metrics; undefined ones are None, never NaN, inf or 0.

    - total_return: equity[-1] / equity[0] - 1 (equity[0] is the starting capital: nothing
      fills before bar 1's open). 100_000 -> 112_000 gives 0.12.
    - annualized_return: growth ** (periods_per_year / (bars - 1)) - 1; -1.0 when the account
      ended at or below zero; None when it overflows a float (a few minute bars of gains).
    - annualized_from_days: the calendar days the bars span, which every annualised figure is
      extrapolated from (37 days of hourly bars: 36.96); 0.0 for one bar.
    - annualization_reliable: False when that span is under 365 days: the annualised return,
      Sharpe and Sortino then scale up less than a year (show total_return, the period return).
    - sharpe_ratio / sortino_ratio: mean per-bar return over its standard deviation (ddof 1) /
      downside deviation (root mean square of the negative returns, target 0), times
      sqrt(periods_per_year) from :func:`periods_per_year`. None when the deviation is zero
      (flat equity, no losing bar), under 3 bars, or equity ever <= 0.
    - sharpe_ratio_daily: the same Sharpe ratio on daily returns: equity at bar 0 and at each
      calendar day's last bar (days of the index's time zone, UTC for stored bars), annualised
      with the observed days per year (~365 crypto, ~310 FX, whose Sunday-evening bars form a
      day of their own, ~252 equities). Per-bar returns of intraday bars are autocorrelated and
      fat-tailed, so the two can differ; on daily bars they are equal. None under 2 days.
    - max_drawdown: the largest fall from a running equity peak as a positive fraction (0.12).
    - win_rate, avg_trade_return: over every trade, including one still open at the end
      (closed at the last close); None with zero trades.
    - profit_factor: gross profit / gross loss of trade pnl; None with zero trades or with no
      losing trade (the ratio is unbounded), 0.0 when no trade won.
    - exposure: fraction of bars ending with a position (sum of bars_held / bars).
    - buy_and_hold_return: close[-1] / close[0] - 1 over the same bars.
    """
    _check_inputs(trades, equity, bars)
    values = equity.to_numpy(dtype=np.float64)
    close = bars["close"].to_numpy(dtype=np.float64)
    periods = periods_per_year(bars.index)
    growth = values[-1] / values[0]
    sharpe, sortino = _return_ratios(values, periods)
    span_days = (bars.index[-1] - bars.index[0]).total_seconds() / _SECONDS_PER_DAY
    metrics: Metrics = {
        "total_return": _finite_or_none(growth - 1.0),
        "annualized_return": _annualized_return(growth, len(values), periods),
        "annualized_from_days": span_days,
        "annualization_reliable": span_days >= MIN_RELIABLE_ANNUALIZATION_DAYS,
        "sharpe_ratio": sharpe,
        "sharpe_ratio_daily": _daily_sharpe(values, bars.index),
        "sortino_ratio": sortino,
        "max_drawdown": _finite_or_none(_max_drawdown(values)),
        "total_trades": len(trades),
        "exposure": float(trades["bars_held"].sum() / len(bars)),
        "buy_and_hold_return": _finite_or_none(close[-1] / close[0] - 1.0),
    }
    metrics.update(_trade_metrics(trades))
    return {name: metrics[name] for name in METRIC_NAMES}
