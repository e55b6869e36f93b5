"""Fills of one position (entry, exit, financing) as numba helpers shared by every kernel.

Each helper returns the change of cash, so the single run, the sweep and the portfolio book a
fill with the same arithmetic. Closed trades go to a TRADE_RECORD_DTYPE array.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from ktrdr.backtesting.exits import (
    STATE_COSTS,
    STATE_DIRECTION,
    STATE_ENTRY_INDEX,
    STATE_ENTRY_PRICE,
    STATE_UNITS,
    arm_exits_nb,
)

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
        ("exit_reason", np.int8),  # an ExitReason code
        ("bars_held", np.int64),
        ("symbol", np.int32),  # column of the symbol in a portfolio; 0 otherwise
    ]
)


@njit(cache=True)
def open_position_nb(
    state: np.ndarray,
    index: int,
    direction: int,
    price: float,
    notional: float,
    cost_rate: float,
    stop_loss: float,
    take_profit: float,
    trailing_stop: float,
) -> float:
    """Enter ``direction`` with ``notional`` at ``price``, paying ``cost_rate``; cash change."""
    entry_cost = cost_rate * notional
    units = direction * notional / price
    state[STATE_UNITS] = units
    state[STATE_DIRECTION] = direction
    state[STATE_ENTRY_INDEX] = index
    state[STATE_ENTRY_PRICE] = price
    state[STATE_COSTS] = entry_cost
    arm_exits_nb(state, stop_loss, take_profit, trailing_stop)
    return -(units * price + entry_cost)


@njit(cache=True)
def close_position_nb(
    state: np.ndarray,
    price: float,
    exit_index: int,
    bars_held: int,
    reason: int,
    open_at_end: bool,
    cost_rate: float,
    records: np.ndarray,
    n_records: int,
    symbol: int,
) -> float:
    """Exit the whole position at ``price`` paying ``cost_rate``; record the trade; cash change."""
    units = state[STATE_UNITS]
    entry_price = state[STATE_ENTRY_PRICE]
    exit_cost = cost_rate * abs(units) * price
    costs = state[STATE_COSTS] + exit_cost
    pnl = units * (price - entry_price) - costs
    rec = records[n_records]
    rec["entry_index"] = int(state[STATE_ENTRY_INDEX])
    rec["exit_index"] = exit_index
    rec["entry_price"] = entry_price
    rec["exit_price"] = price
    rec["direction"] = 1 if units > 0.0 else -1
    rec["size"] = abs(units)
    rec["pnl"] = pnl
    rec["costs"] = costs
    rec["open_at_end"] = open_at_end
    rec["exit_reason"] = reason
    rec["bars_held"] = bars_held
    rec["symbol"] = symbol
    state[STATE_UNITS] = 0.0
    state[STATE_DIRECTION] = 0.0
    if open_at_end:
        # At the end the cash is not re-marked: the caller subtracts the exit cost from equity.
        return -exit_cost
    return units * price - exit_cost


@njit(cache=True)
def financing_nb(state: np.ndarray, price: float, rate_per_day: float, days: float) -> float:
    """Charge financing on the notional held at ``price`` over ``days``; cash change."""
    fee = rate_per_day * abs(state[STATE_UNITS]) * price * days
    state[STATE_COSTS] += fee
    return -fee


@njit(cache=True)
def record_columns_nb(records: np.ndarray, last_row: int) -> tuple:
    """The records' fields as contiguous columns in one pass, plus each trade's return.

    The exit row is clipped to ``last_row`` (a trade open at the end exits at n); the return is
    pnl / (size * entry_price). Reading the packed fields one by one costs several times this.
    """
    m = records.shape[0]
    entry_row = np.empty(m, dtype=np.int64)
    exit_row = np.empty(m, dtype=np.int64)
    entry_price = np.empty(m)
    exit_price = np.empty(m)
    direction = np.empty(m, dtype=np.int8)
    size = np.empty(m)
    pnl = np.empty(m)
    returns = np.empty(m)
    costs = np.empty(m)
    bars_held = np.empty(m, dtype=np.int64)
    open_at_end = np.empty(m, dtype=np.bool_)
    exit_reason = np.empty(m, dtype=np.int8)
    for i in range(m):
        rec = records[i]
        entry_row[i] = rec["entry_index"]
        exit_row[i] = min(rec["exit_index"], last_row)
        entry_price[i] = rec["entry_price"]
        exit_price[i] = rec["exit_price"]
        direction[i] = rec["direction"]
        size[i] = rec["size"]
        pnl[i] = rec["pnl"]
        returns[i] = rec["pnl"] / (rec["size"] * rec["entry_price"])
        costs[i] = rec["costs"]
        bars_held[i] = rec["bars_held"]
        open_at_end[i] = rec["open_at_end"]
        exit_reason[i] = rec["exit_reason"]
    return (
        entry_row, exit_row, entry_price, exit_price, direction, size, pnl, returns, costs,
        bars_held, open_at_end, exit_reason,
    )  # fmt: skip
