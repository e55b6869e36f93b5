"""Many target-position columns on the same bars in one parallel numba kernel, metrics only."""

from __future__ import annotations

import logging

import numpy as np
import pandas as pd
from numba import njit, prange

from ktrdr.backtesting.arguments import (
    EXIT_NAMES,
    check_bars,
    check_fractions,
    market_inputs,
)
from ktrdr.backtesting.exits import new_state_nb
from ktrdr.backtesting.fills import TRADE_RECORD_DTYPE, trade_capacity_nb
from ktrdr.backtesting.metrics import METRIC_NAMES
from ktrdr.backtesting.metrics_nb import (
    RAW_SIZE,
    STATS_SIZE,
    equity_metrics_nb,
    metrics_table,
    record_stats_nb,
)
from ktrdr.backtesting.nb import SimulationStatus, simulate_positions_nb
from ktrdr.backtesting.simulator import raise_for_status
from ktrdr.backtesting.sizing import VolatilityTarget
from ktrdr.errors import ValidationError

logger = logging.getLogger(__name__)


@njit(cache=True, parallel=True)
def simulate_many_nb(
    open_: np.ndarray,
    high: np.ndarray,
    low: np.ndarray,
    close: np.ndarray,
    targets: np.ndarray,
    check_exits: bool,
    stop_loss: np.ndarray,
    take_profit: np.ndarray,
    trailing_stop: np.ndarray,
    fraction: np.ndarray,
    cost_rate: float,
    financing_per_day: float,
    days: np.ndarray,
    initial_capital: float,
    local: np.ndarray,
    per_day: int,
    periods: float,
    span_years: float,
    raw_out: np.ndarray,
    stats_out: np.ndarray,
    status_out: np.ndarray,
) -> None:
    """Run :func:`simulate_positions_nb` on each column of ``targets`` (n, k or 1) in parallel.

    Exits are one fraction per column (NaN = none) or one for all; per column j, RAW_* metrics
    go to raw_out[j], the trade statistics to stats_out[j] and (status, bad bar) to
    status_out[j]. Each column's equity and trades live only while its metrics are computed.
    """
    n = targets.shape[0]
    k = raw_out.shape[0]
    for j in prange(k):
        equity = np.empty(n)
        column = targets[:, 0] if targets.shape[1] == 1 else targets[:, j]
        records = np.empty(trade_capacity_nb(column), dtype=TRADE_RECORD_DTYPE)
        status, bad_bar, n_trades = simulate_positions_nb(
            open_, high, low, close, column, check_exits,
            np.full(1, stop_loss[0] if stop_loss.shape[0] == 1 else stop_loss[j]),
            np.full(1, take_profit[0] if take_profit.shape[0] == 1 else take_profit[j]),
            np.full(1, trailing_stop[0] if trailing_stop.shape[0] == 1 else trailing_stop[j]),
            fraction, cost_rate, financing_per_day, days, initial_capital,
            equity, records, new_state_nb(),
        )  # fmt: skip
        status_out[j, 0] = status
        status_out[j, 1] = bad_bar
        if status == SimulationStatus.ok or status == SimulationStatus.equity_depleted:
            raw_out[j] = equity_metrics_nb(equity, local, per_day, periods, span_years)
            stats_out[j] = record_stats_nb(records[:n_trades])


def _targets_matrix(target_positions: object, n_bars: int) -> tuple[np.ndarray, pd.Index]:
    columns = None
    if isinstance(target_positions, pd.DataFrame):
        columns = target_positions.columns
    try:
        targets = np.asarray(target_positions, dtype=np.float64)
    except (TypeError, ValueError):
        raise ValidationError("target_positions must hold numbers in {-1, 0, +1}") from None
    if targets.ndim != 2 or targets.shape[0] != n_bars or targets.shape[1] == 0:
        raise ValidationError(
            f"target_positions has shape {targets.shape}, bars has {n_bars} rows: "
            "need an (n_bars, k) array with k >= 1 columns"
        )
    return targets, pd.RangeIndex(targets.shape[1]) if columns is None else columns


def _column_count(targets: np.ndarray, exits: tuple[object, ...]) -> int:
    """k: the target columns, or the exits' length when one target column is swept over them."""
    lengths = {len(value) for value in exits if value is not None and np.ndim(value) == 1}
    n_bars, columns = targets.shape
    if columns == 1 and n_bars in lengths and n_bars > 1:
        # simulate_positions reads an n_bars-long exit array as one fraction per bar: refuse
        # the same array here rather than silently sweep it as n_bars columns.
        raise ValidationError(
            f"an exit array has {n_bars} values, one per bar, with one target column: "
            "simulate_many takes exits per column, not per bar (simulate_positions takes them "
            f"per bar); to sweep {n_bars} exit values pass {n_bars} target columns"
        )
    if columns == 1 and len(lengths) == 1:
        return lengths.pop()
    return columns


def _column_exits(name: str, value: object, k: int) -> np.ndarray:
    """None, one fraction in (0, 1) for every column, or k of them (NaN = none for a column)."""
    if value is None:
        return np.full(1, np.nan)
    try:
        values = np.atleast_1d(np.asarray(value, dtype=np.float64))
    except (TypeError, ValueError):
        raise ValidationError(f"{name} must be None, a fraction or {k} fractions") from None
    if values.ndim != 1 or (np.ndim(value) == 1 and len(values) != k):
        raise ValidationError(
            f"{name} must be None, a fraction in (0, 1) or {k} fractions (one per column), "
            f"got shape {np.shape(value)}"
        )
    return check_fractions(name, values)


def simulate_many(
    bars: pd.DataFrame,
    target_positions: np.ndarray | pd.DataFrame,
    *,
    commission_bps: float = 0.0,
    slippage_bps: float = 0.0,
    position_fraction: float = 1.0,
    initial_capital: float = 100_000.0,
    stop_loss: float | np.ndarray | None = None,
    take_profit: float | np.ndarray | None = None,
    trailing_stop: float | np.ndarray | None = None,
    sizing: VolatilityTarget | np.ndarray | None = None,
    spread_bps: float = 0.0,
    financing_bps_per_day: float = 0.0,
) -> pd.DataFrame:
    """Simulate k target-position columns (an (n_bars, k) array or DataFrame) on ``bars`` at once.

    Returns one row of METRIC_NAMES per column (indexed by the DataFrame's columns, else 0..k-1),
    each equal to ``simulate_positions(bars, column, ...).metrics`` with the same arguments,
    except that undefined metrics are NaN instead of None. ``stop_loss``, ``take_profit`` and
    ``trailing_stop`` take None, one fraction for every column, or k fractions (one per column,
    NaN = none). One target column with k-long exits is swept over them without copying it:
    ``simulate_many(bars, signal[:, None], stop_loss=stops, take_profit=targets)`` runs the
    1,000 (stop, target) pairs of two 1,000-long arrays on one signal (an exit array as long as
    the bars is refused there: ``simulate_positions`` would read it per bar). The columns run in
    parallel (numba prange) on all cores.
    """
    bars = check_bars(bars)
    n = len(bars)
    targets, columns = _targets_matrix(target_positions, n)
    given = (stop_loss, take_profit, trailing_stop)
    k = _column_count(targets, given)
    if k != targets.shape[1]:
        columns = pd.RangeIndex(k)
    exits_on = any(value is not None for value in given)
    market = market_inputs(
        bars,
        commission_bps=commission_bps,
        slippage_bps=slippage_bps,
        spread_bps=spread_bps,
        financing_bps_per_day=financing_bps_per_day,
        position_fraction=position_fraction,
        initial_capital=initial_capital,
        sizing=sizing,
        exits_on=exits_on,
    )
    exits = [_column_exits(name, v, k) for name, v in zip(EXIT_NAMES, given, strict=True)]
    clock = market.clock
    raw = np.full((k, RAW_SIZE), np.nan)
    stats = np.zeros((k, STATS_SIZE))
    status = np.zeros((k, 2), dtype=np.int64)
    simulate_many_nb(
        market.open, market.high, market.low, market.close, targets, exits_on, *exits,
        market.fractions, market.costs.cost_rate, market.costs.financing_per_day, market.days,
        market.capital, clock.local, clock.per_day, clock.periods, clock.span_years,
        raw, stats, status,
    )  # fmt: skip
    for j in range(k):
        if status[j, 0] not in (SimulationStatus.ok, SimulationStatus.equity_depleted):
            raise_for_status(
                int(status[j, 0]),
                int(status[j, 1]),
                bars,
                target_name="target_positions",
                where_else=f" (column {columns[j]})",
            )
    if (status[:, 0] == SimulationStatus.equity_depleted).any():
        logger.warning("equity fell to <= 0 at an entry fill in some columns: entries refused")
    table = metrics_table(raw, stats, clock, market.buy_and_hold_return)
    table.index = columns
    return table[list(METRIC_NAMES)]
