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

# The float columns of the trades table, in the order record_columns_nb writes them.
FLOAT_TRADE_FIELDS: tuple[str, ...] = (
    "entry_price",
    "exit_price",
    "size",
    "pnl",
    "return",
    "costs",
)
FLOAT_PNL = FLOAT_TRADE_FIELDS.index("pnl")
FLOAT_RETURN = FLOAT_TRADE_FIELDS.index("return")

TRADE_RECORD_DTYPE = np.dtype(
    [
        ("entry_index", np.int64),
        ("exit_index", np.int64),  # bar whose open filled the exit; the last for one open at end
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
def trade_capacity_nb(target: np.ndarray) -> int:
    """How many trades a run on ``target`` can close at most: 1 + the changes of the target.

    Every entry closes one trade, and two entries are always separated by a change of the target
    (an exit locks the position flat until it changes): for most strategies far fewer records
    than one per bar.
    """
    changes = 0
    for t in range(1, target.shape[0]):
        changes += target[t] != target[t - 1]
    return 1 + changes


@njit(cache=True)
def record_columns_nb(records: np.ndarray) -> tuple:
    """The records' fields as contiguous columns in one pass, plus each trade's return.

    Returns (entry row, exit row, direction, bars held, open at end, exit reason, floats):
    floats is (6, m), its rows FLOAT_TRADE_FIELDS, a block that becomes a table's columns
    without a copy. The return is pnl / (size * entry_price). Reading the packed fields one by
    one costs several times this.
    """
    m = records.shape[0]
    entry_row = np.empty(m, dtype=np.int64)
    exit_row = np.empty(m, dtype=np.int64)
    direction = np.empty(m, dtype=np.int8)
    bars_held = np.empty(m, dtype=np.int64)
    open_at_end = np.empty(m, dtype=np.bool_)
    exit_reason = np.empty(m, dtype=np.int8)
    floats = np.empty((len(FLOAT_TRADE_FIELDS), m))
    for i in range(m):
        rec = records[i]
        entry_row[i] = rec["entry_index"]
        exit_row[i] = rec["exit_index"]
        direction[i] = rec["direction"]
        bars_held[i] = rec["bars_held"]
        open_at_end[i] = rec["open_at_end"]
        exit_reason[i] = rec["exit_reason"]
        floats[0, i] = rec["entry_price"]
        floats[1, i] = rec["exit_price"]
        floats[2, i] = rec["size"]
        floats[3, i] = rec["pnl"]
        floats[4, i] = rec["pnl"] / (rec["size"] * rec["entry_price"])
        floats[5, i] = rec["costs"]
    return entry_row, exit_row, direction, bars_held, open_at_end, exit_reason, floats
