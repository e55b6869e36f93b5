"""Numba kernels of the backtest engine: arrays in, arrays and status codes out, never raising."""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
from numba import njit


class SimulationStatusT(NamedTuple):
    """Codes returned by :func:`simulate_positions_nb`; the caller turns failures into errors."""

    ok: int = 0
    invalid_open: int = 1  # open price NaN, infinite or <= 0 at the returned bar
    invalid_close: int = 2  # close price NaN, infinite or <= 0 at the returned bar
    invalid_target: int = 3  # target position not in {-1, 0, +1} at the returned bar
    equity_depleted: int = 4  # equity <= 0 at an entry fill: entries refused from then on


SimulationStatus = SimulationStatusT()


class SignalT(NamedTuple):
    """Class indices of the model's output (contracts: 0 = SELL, 1 = HOLD, 2 = BUY)."""

    sell: int = 0
    hold: int = 1
    buy: int = 2


Signal = SignalT()

TRADE_RECORD_DTYPE = np.dtype(
    [
        ("entry_index", np.int64),
        ("exit_index", np.int64),  # bar whose open filled the exit; n for a trade open at the end
        ("entry_price", np.float64),
        ("exit_price", np.float64),
        ("direction", np.int8),
        ("size", np.float64),
        ("pnl", np.float64),
        ("costs", np.float64),
        ("open_at_end", np.bool_),
    ]
)


@njit(cache=True)
def _is_valid_price(price: float) -> bool:
    return np.isfinite(price) and price > 0.0


@njit(cache=True)
def _write_trade(
    records: np.ndarray,
    k: int,
    entry_index: int,
    exit_index: int,
    entry_price: float,
    exit_price: float,
    units: float,
    costs: float,
    open_at_end: bool,
) -> None:
    rec = records[k]
    rec["entry_index"] = entry_index
    rec["exit_index"] = exit_index
    rec["entry_price"] = entry_price
    rec["exit_price"] = exit_price
    rec["direction"] = 1 if units > 0.0 else -1
    rec["size"] = abs(units)
    rec["pnl"] = units * (exit_price - entry_price) - costs
    rec["costs"] = costs
    rec["open_at_end"] = open_at_end


@njit(cache=True)
def simulate_positions_nb(
    open_: np.ndarray,
    close: np.ndarray,
    target: np.ndarray,
    cost_rate: float,
    position_fraction: float,
    initial_capital: float,
    equity_out: np.ndarray,
    trades_out: np.ndarray,
) -> tuple[int, int, int]:
    """Fill target[t-1] at open[t], mark equity at close[t]; return (status, bad bar, trade count).

    A position open after the last bar is closed at close[n-1] with its exit cost, which
    equity_out[n-1] includes. ``trades_out`` is a TRADE_RECORD_DTYPE array of length n (the most
    trades n bars can hold).
    """
    n = open_.shape[0]
    status = SimulationStatus.ok
    cash = initial_capital
    units = 0.0  # signed: > 0 long, < 0 short
    position = 0
    entry_index = -1
    entry_price = 0.0
    entry_cost = 0.0
    n_trades = 0
    for t in range(n):
        price = open_[t]
        if not _is_valid_price(price):
            return SimulationStatus.invalid_open, t, n_trades
        if not _is_valid_price(close[t]):
            return SimulationStatus.invalid_close, t, n_trades
        decided = target[t]
        if decided != -1.0 and decided != 0.0 and decided != 1.0:
            return SimulationStatus.invalid_target, t, n_trades
        wanted = int(target[t - 1]) if t > 0 else 0
        if wanted != position:
            if position != 0:
                exit_cost = cost_rate * abs(units) * price
                cash += units * price - exit_cost
                _write_trade(
                    trades_out,
                    n_trades,
                    entry_index,
                    t,
                    entry_price,
                    price,
                    units,
                    entry_cost + exit_cost,
                    False,
                )
                n_trades += 1
                units = 0.0
                position = 0
            if wanted != 0:
                if cash <= 0.0:
                    status = SimulationStatus.equity_depleted
                else:
                    notional = position_fraction * cash
                    entry_cost = cost_rate * notional
                    units = wanted * notional / price
                    cash -= units * price + entry_cost
                    position = wanted
                    entry_index = t
                    entry_price = price
        equity_out[t] = cash + units * close[t]
    if position != 0:
        # Close the position left open at the last close, paying the exit cost like any fill.
        exit_cost = cost_rate * abs(units) * close[n - 1]
        equity_out[n - 1] -= exit_cost
        _write_trade(
            trades_out,
            n_trades,
            entry_index,
            n,
            entry_price,
            close[n - 1],
            units,
            entry_cost + exit_cost,
            True,
        )
        n_trades += 1
    return status, -1, n_trades


@njit(cache=True)
def _next_position(position: int, signal: int, allow_short_from_flat: bool) -> int:
    if signal == Signal.buy:
        return 0 if position < 0 else 1
    if signal == Signal.sell:
        if position > 0:
            return 0
        if position < 0 or allow_short_from_flat:
            return -1
        return 0
    return position


@njit(cache=True)
def decide_positions_nb(
    probabilities: np.ndarray,
    confidence_threshold: float,
    allow_short_from_flat: bool,
    min_signal_separation: int,
) -> np.ndarray:
    """Turn (n, 3) sell/hold/buy probabilities into int8 target positions, bar by bar."""
    n = probabilities.shape[0]
    positions = np.empty(n, dtype=np.int8)
    position = 0
    last_change = -1
    for t in range(n):
        signal = Signal.sell
        for k in range(1, 3):
            if probabilities[t, k] > probabilities[t, signal]:
                signal = k
        if probabilities[t, signal] < confidence_threshold:
            signal = Signal.hold
        wanted = _next_position(position, signal, allow_short_from_flat)
        if wanted != position and (last_change < 0 or t - last_change >= min_signal_separation):
            position = wanted
            last_change = t
        positions[t] = position
    return positions
