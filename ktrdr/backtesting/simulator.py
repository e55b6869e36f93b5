"""Simulate target positions on bars: fill at the next open, pay costs per side, mark at close."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import NamedTuple

import numpy as np
import pandas as pd
from pandas.api.internals import create_dataframe_from_blocks

from ktrdr.backtesting.arguments import (
    EXIT_NAMES,
    check_bars,
    exit_fractions,
    market_inputs,
)
from ktrdr.backtesting.exits import EXIT_REASON_NAMES, new_state_nb
from ktrdr.backtesting.fills import (
    FLOAT_TRADE_FIELDS,
    TRADE_RECORD_DTYPE,
    record_columns_nb,
    trade_capacity_nb,
)
from ktrdr.backtesting.metrics import Metrics
from ktrdr.backtesting.metrics_nb import metrics_from_raw
from ktrdr.backtesting.nb import SimulationStatus, measure_run_nb, simulate_positions_nb
from ktrdr.backtesting.sizing import VolatilityTarget
from ktrdr.errors import InvariantError, ValidationError

logger = logging.getLogger(__name__)

TRADE_COLUMNS: tuple[str, ...] = (
    "entry_time",
    "exit_time",
    "entry_price",
    "exit_price",
    "direction",
    "size",
    "pnl",
    "return",
    "costs",
    "bars_held",
    "open_at_end",
    "exit_reason",
)


# Built once: making these costs more than a short simulation.
_EXIT_REASON_DTYPE = pd.CategoricalDtype(EXIT_REASON_NAMES)
_TRADE_COLUMN_INDEX = pd.Index(TRADE_COLUMNS)
_FLOAT_PLACEMENT = np.array([TRADE_COLUMNS.index(name) for name in FLOAT_TRADE_FIELDS])
_PLACEMENT = {name: np.array([TRADE_COLUMNS.index(name)]) for name in TRADE_COLUMNS}


@dataclass(frozen=True)
class SimulationResult:
    """Trades (one row per round trip, columns TRADE_COLUMNS), equity at each close, metrics."""

    trades: pd.DataFrame
    equity: pd.Series
    metrics: Metrics


def _target_array(target_position: object, n_bars: int) -> np.ndarray:
    try:
        target = np.asarray(target_position)
        # The kernel reads int8 and float64 targets as they are; anything else becomes float64.
        if target.dtype not in (np.int8, np.float64):
            target = target.astype(np.float64)
    except (TypeError, ValueError):
        raise ValidationError("target_position must hold numbers in {-1, 0, +1}") from None
    if target.ndim != 1 or len(target) != n_bars:
        raise ValidationError(
            f"target_position has shape {target.shape}, bars has {n_bars} rows: "
            "need one target per bar"
        )
    return target


def raise_for_status(
    status: int,
    bad_bar: int,
    bars: pd.DataFrame,
    *,
    target_name: str = "target_position",
    where_else: str = "",
) -> None:
    """Turn a kernel status into a ValidationError naming the bar (a warning when depleted)."""
    if status == SimulationStatus.ok:
        return
    if status == SimulationStatus.equity_depleted:
        logger.warning("equity fell to <= 0 at an entry fill: later entries were refused")
        return
    where = f"bar {bad_bar} ({bars.index[bad_bar]}){where_else}"
    if status == SimulationStatus.invalid_open:
        raise ValidationError(f"bars open at {where} must be finite and > 0")
    if status == SimulationStatus.invalid_close:
        raise ValidationError(f"bars close at {where} must be finite and > 0")
    if status == SimulationStatus.invalid_high_low:
        raise ValidationError(f"bars high and low at {where} must be finite and > 0 (exits on)")
    if status == SimulationStatus.invalid_target:
        raise ValidationError(f"{target_name} at {where} must be -1, 0 or +1")
    if status == SimulationStatus.records_full:
        raise InvariantError(f"the trade records had no room for the trade entered at {where}")
    raise InvariantError(f"simulation kernel returned unknown status {status}")


class TradeColumns(NamedTuple):
    """The trade records' fields as columns (record_columns_nb); floats holds FLOAT_TRADE_FIELDS."""

    entry_row: np.ndarray
    exit_row: np.ndarray
    direction: np.ndarray
    bars_held: np.ndarray
    open_at_end: np.ndarray
    exit_reason: np.ndarray
    floats: np.ndarray


def trades_frame(index: pd.DatetimeIndex, records: np.ndarray) -> pd.DataFrame:
    """The TRADE_COLUMNS table of a kernel's trade records on the bars' index."""
    return columns_frame(index, TradeColumns(*record_columns_nb(records)))


def columns_frame(index: pd.DatetimeIndex, columns: TradeColumns) -> pd.DataFrame:
    """The TRADE_COLUMNS table of trade columns on the bars' index.

    Built from the columns' blocks as they are, without the copy into one block per dtype that
    the DataFrame constructor makes.
    """
    times = index.array
    reasons = pd.Categorical.from_codes(
        columns.exit_reason, dtype=_EXIT_REASON_DTYPE, validate=False
    )
    blocks = [
        (times.take(columns.entry_row), _PLACEMENT["entry_time"]),
        (times.take(columns.exit_row), _PLACEMENT["exit_time"]),
        (columns.floats, _FLOAT_PLACEMENT),
        (columns.direction[np.newaxis], _PLACEMENT["direction"]),
        (columns.bars_held[np.newaxis], _PLACEMENT["bars_held"]),
        (columns.open_at_end[np.newaxis], _PLACEMENT["open_at_end"]),
        (reasons, _PLACEMENT["exit_reason"]),
    ]
    labels = pd.RangeIndex(len(columns.entry_row))
    return create_dataframe_from_blocks(blocks, index=labels, columns=_TRADE_COLUMN_INDEX)


def simulate_positions(
    bars: pd.DataFrame,
    target_position: np.ndarray | pd.Series,
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
) -> SimulationResult:
    """Trade ``target_position`` (-1 short, 0 flat, +1 long, decided at each close) on ``bars``.

    The target decided at bar t's close fills at bar t+1's open; the last bar's target never fills.
    Each fill pays (commission_bps + slippage_bps + spread_bps / 2) / 10_000 of its notional: 10 bp
    + 5 bp on a 50_000 fill costs 75 (``spread_bps`` is the full quoted spread, half of it paid per
    fill). An entry buys or sells ``position_fraction`` * equity at the fill / open price units
    (fractional; above 1.0 is leverage), with the entry cost paid on top; with
    ``sizing=VolatilityTarget(...)`` the fraction comes from it instead (computed on ``bars``; pass
    its ``fractions`` over a longer history, aligned to ``bars``, so that the first bars can enter
    too). A reversal +1 -> -1 exits and re-enters at the same open. Equity is marked at every close.
    A position still open after the last bar is closed at the last close with ``open_at_end`` True
    and exit_reason ``end``, and pays its exit cost like any fill, so equity[-1] is what the account
    holds once out of the market (flat at 100 with 50 bp per side: 100_000 -> 99_000). ``bars_held``
    counts the closes the position was held over. When equity at an entry fill is <= 0 the entry is
    refused (the account is ruined) and a warning is logged.

    Exits (``stop_loss``, ``take_profit``, ``trailing_stop``): None, a fraction in (0, 1) of the
    entry price, or an array with one fraction per decision bar (the bar whose close decided
    the entry; NaN = no such exit for that entry). Long: stop = entry * (1 - stop_loss), target
    = entry * (1 + take_profit), trailing level = max(entry, highs of the bars before the
    current one since entry) * (1 - trailing_stop); the tighter of the two stops binds
    (``trailing_stop`` only when strictly tighter). Shorts mirror. Checked on every bar from
    the entry bar on: the open first (a gap through the stop or the target fills at the open),
    then the low against the stop (the stop first: the pessimistic same-bar rule), then the high
    against the target; a touch fills at the level. The exit pays costs like any fill; then the
    position stays flat until the target differs from the direction it exited (+1 after a
    long). Entry at 100, stop_loss 0.02: a bar with low 97.5 exits at 98; a bar opening at 97
    exits at 97. ``financing_bps_per_day`` is charged at each close on the absolute notional
    held at that close (units * close) for the calendar days until the next close, over which
    it is held at least until the next open (5 bp a day on 100_000 held at Friday's close, 3
    days to Monday's: 150); nothing at the last close, where the position is closed. It counts
    in the trade's costs.
    """
    bars = check_bars(bars)
    target = _target_array(target_position, len(bars))
    n = len(bars)
    given = (stop_loss, take_profit, trailing_stop)
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
    exits = [exit_fractions(name, value, n) for name, value in zip(EXIT_NAMES, given, strict=True)]
    clock = market.clock
    equity = np.empty(n)
    records = np.empty(trade_capacity_nb(target), dtype=TRADE_RECORD_DTYPE)
    status, bad_bar, n_trades = simulate_positions_nb(
        market.open, market.high, market.low, market.close, target, exits_on,
        *exits, market.fractions, market.costs.cost_rate, market.costs.financing_per_day,
        market.days, market.capital, equity, records, new_state_nb(),
    )  # fmt: skip
    raise_for_status(status, bad_bar, bars)
    columns, raw, stats = measure_run_nb(
        records[:n_trades], equity, clock.local, clock.per_day, clock.periods, clock.span_years
    )
    metrics = metrics_from_raw(raw, stats, clock, market.buy_and_hold_return)
    trades = columns_frame(bars.index, TradeColumns(*columns))
    return SimulationResult(
        trades, pd.Series(equity, index=bars.index, name="equity", copy=False), metrics
    )
