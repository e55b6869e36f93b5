"""Simulate target positions on bars: fill at the next open, pay costs per side, mark at close."""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass

import numpy as np
import pandas as pd

from ktrdr.backtesting.metrics import Metrics, compute_metrics
from ktrdr.backtesting.nb import TRADE_RECORD_DTYPE, SimulationStatus, simulate_positions_nb
from ktrdr.errors import InvariantError, ValidationError

logger = logging.getLogger(__name__)

BASIS_POINT = 1e-4
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
)


@dataclass(frozen=True)
class SimulationResult:
    """Trades (one row per round trip, columns TRADE_COLUMNS), equity at each close, metrics."""

    trades: pd.DataFrame
    equity: pd.Series
    metrics: Metrics


def _check_number(name: str, value: float, *, allow_zero: bool) -> float:
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise ValidationError(f"{name} must be a number, got {value!r}") from None
    if not math.isfinite(number) or number < 0 or (number == 0 and not allow_zero):
        bound = ">= 0" if allow_zero else "> 0"
        raise ValidationError(f"{name} must be a finite number {bound}, got {value!r}")
    return number


def _target_array(target_position: object, n_bars: int) -> np.ndarray:
    try:
        target = np.asarray(target_position, dtype=np.float64)
    except (TypeError, ValueError):
        raise ValidationError("target_position must hold numbers in {-1, 0, +1}") from None
    if target.ndim != 1 or len(target) != n_bars:
        raise ValidationError(
            f"target_position has shape {target.shape}, bars has {n_bars} rows: "
            "need one target per bar"
        )
    return target


def _price_array(bars: pd.DataFrame, column: str) -> np.ndarray:
    if column not in bars.columns:
        raise ValidationError(f"bars lacks the {column!r} column (need open, high, low, close)")
    return np.ascontiguousarray(bars[column].to_numpy(dtype=np.float64))


def _check_bars(bars: object) -> pd.DataFrame:
    if not isinstance(bars, pd.DataFrame):
        raise ValidationError(f"bars must be an OHLCV DataFrame, got {type(bars).__name__}")
    if len(bars) == 0:
        raise ValidationError("bars is empty: need at least one bar")
    if not isinstance(bars.index, pd.DatetimeIndex):
        kind = type(bars.index).__name__
        raise ValidationError(f"bars index must be a DatetimeIndex, got {kind}")
    return bars


def _raise_for_status(status: int, bad_bar: int, bars: pd.DataFrame) -> None:
    if status == SimulationStatus.ok:
        return
    if status == SimulationStatus.equity_depleted:
        logger.warning("equity fell to <= 0 at an entry fill: later entries were refused")
        return
    where = f"bar {bad_bar} ({bars.index[bad_bar]})"
    if status == SimulationStatus.invalid_open:
        raise ValidationError(f"bars open at {where} must be finite and > 0")
    if status == SimulationStatus.invalid_close:
        raise ValidationError(f"bars close at {where} must be finite and > 0")
    if status == SimulationStatus.invalid_target:
        raise ValidationError(f"target_position at {where} must be -1, 0 or +1")
    raise InvariantError(f"simulation kernel returned unknown status {status}")


def _trades_frame(records: np.ndarray, index: pd.DatetimeIndex) -> pd.DataFrame:
    exit_rows = np.minimum(records["exit_index"], len(index) - 1)
    size = records["size"]
    entry_price = records["entry_price"]
    return pd.DataFrame(
        {
            "entry_time": index[records["entry_index"]],
            "exit_time": index[exit_rows],
            "entry_price": entry_price,
            "exit_price": records["exit_price"],
            "direction": records["direction"],
            "size": size,
            "pnl": records["pnl"],
            "return": records["pnl"] / (size * entry_price),
            "costs": records["costs"],
            "bars_held": records["exit_index"] - records["entry_index"],
            "open_at_end": records["open_at_end"],
        },
        columns=list(TRADE_COLUMNS),
    )


def simulate_positions(
    bars: pd.DataFrame,
    target_position: np.ndarray | pd.Series,
    *,
    commission_bps: float = 0.0,
    slippage_bps: float = 0.0,
    position_fraction: float = 1.0,
    initial_capital: float = 100_000.0,
) -> SimulationResult:
    """Trade ``target_position`` (-1 short, 0 flat, +1 long, decided at each close) on ``bars``.

    The target decided at bar t's close fills at bar t+1's open; the last bar's target never
    fills. Each fill pays (commission_bps + slippage_bps) / 10_000 of its notional: 10 bp + 5 bp
    on a 50_000 fill costs 75. An entry buys or sells ``position_fraction`` * equity at the fill /
    open price units (fractional; above 1.0 is leverage), with the entry cost paid on top. A
    reversal +1 -> -1 exits and re-enters at the same open. Equity is marked at every close. A
    position still open after the last bar is closed at the last close with ``open_at_end`` True
    and pays its exit cost like any fill, so equity[-1] is what the account holds once out of
    the market (flat at 100 with 50 bp per side: 100_000 -> 99_000). ``bars_held`` counts the
    closes the position was held over. When equity at an entry fill is <= 0 the entry is refused
    (the account is ruined) and a warning is logged.
    """
    bars = _check_bars(bars)
    target = _target_array(target_position, len(bars))
    commission = _check_number("commission_bps", commission_bps, allow_zero=True)
    slippage = _check_number("slippage_bps", slippage_bps, allow_zero=True)
    fraction = _check_number("position_fraction", position_fraction, allow_zero=False)
    capital = _check_number("initial_capital", initial_capital, allow_zero=False)
    open_, close = _price_array(bars, "open"), _price_array(bars, "close")
    equity = np.empty(len(bars), dtype=np.float64)
    records = np.empty(len(bars), dtype=TRADE_RECORD_DTYPE)
    cost_rate = (commission + slippage) * BASIS_POINT
    status, bad_bar, n_trades = simulate_positions_nb(
        open_, close, target, cost_rate, fraction, capital, equity, records
    )
    _raise_for_status(status, bad_bar, bars)
    trades = _trades_frame(records[:n_trades], bars.index)
    equity_series = pd.Series(equity, index=bars.index, name="equity")
    return SimulationResult(trades, equity_series, compute_metrics(trades, equity_series, bars))
