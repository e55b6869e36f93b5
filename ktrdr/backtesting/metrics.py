"""Backtest metrics of (trades, equity, bars): the same numba functions as the simulators'.

Every path (a simulation's own metrics, ``simulate_many``'s rows, the metrics of stitched
walk-forward trades and equity) computes them with :mod:`ktrdr.backtesting.metrics_nb`, so the
figures agree by construction.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ktrdr.backtesting.metric_definitions import METRIC_NAMES, Metrics, periods_per_year
from ktrdr.backtesting.metrics_nb import BarClock, metrics_from_raw, trade_stats_nb
from ktrdr.errors import ValidationError

__all__ = ["METRIC_NAMES", "Metrics", "compute_metrics", "periods_per_year"]


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
    clock = BarClock.of(bars.index)
    close = bars["close"].to_numpy(dtype=np.float64)
    stats = trade_stats_nb(
        trades["pnl"].to_numpy(dtype=np.float64),
        trades["return"].to_numpy(dtype=np.float64),
        trades["bars_held"].to_numpy(dtype=np.int64),
    )
    return metrics_from_raw(
        clock.equity_metrics(np.ascontiguousarray(equity.to_numpy(dtype=np.float64))),
        stats,
        clock,
        close[-1] / close[0] - 1.0,
    )
