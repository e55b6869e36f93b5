"""Stop, target and trailing-stop rules (DESIGN §12) as numba helpers shared by every kernel.

An open position's state lives in a small float64 array (fields ``STATE_*``), so the single run,
the parallel sweep and the portfolio kernels apply the same rules by calling these helpers.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
from numba import njit


class ExitReasonT(NamedTuple):
    """Why a trade closed; ``EXIT_REASON_NAMES[code]`` is its name in the trades table."""

    signal: int = 0  # the target position changed: filled at the next open
    stop: int = 1  # the fixed stop loss
    take_profit: int = 2  # the profit target
    trailing_stop: int = 3  # the trailing stop, when tighter than the fixed stop
    end: int = 4  # still open after the last bar: closed at the last close


ExitReason = ExitReasonT()
EXIT_REASON_NAMES: tuple[str, ...] = ExitReasonT._fields

# Fields of a position's state array.
STATE_UNITS = 0  # signed units held: > 0 long, < 0 short, 0 flat
STATE_DIRECTION = 1  # +1, -1 or 0
STATE_ENTRY_INDEX = 2
STATE_ENTRY_PRICE = 3
STATE_COSTS = 4  # costs paid so far by the open trade (entry fill, financing)
STATE_STOP_LOSS = 5  # fractions for this trade; NaN = no such exit
STATE_TAKE_PROFIT = 6
STATE_TRAILING_STOP = 7
STATE_EXTREME = 8  # best price since entry over the bars before the current one (trailing)
STATE_LOCK = 9  # after a stop/target exit: stay flat while the target equals this; NaN = none
STATE_SIZE = 10


@njit(cache=True)
def new_state_nb() -> np.ndarray:
    """A flat position's state."""
    state = np.zeros(STATE_SIZE)
    state[STATE_LOCK] = np.nan
    return state


@njit(cache=True)
def flex_at_nb(values: np.ndarray, i: int) -> float:
    """values[i], or values[0] when a single value stands for every bar (or column)."""
    return values[0] if values.shape[0] == 1 else values[i]


@njit(cache=True)
def resolve_wanted_nb(state: np.ndarray, target: float) -> int:
    """The position to hold: flat while a stop/target lock holds; unlock once the target moves."""
    lock = state[STATE_LOCK]
    if not np.isnan(lock):
        if target == lock:
            return 0
        state[STATE_LOCK] = np.nan
    return int(target)


@njit(cache=True)
def arm_exits_nb(
    state: np.ndarray, stop_loss: float, take_profit: float, trailing_stop: float
) -> None:
    """Store the exit fractions decided for the trade just entered (NaN = no such exit)."""
    state[STATE_STOP_LOSS] = stop_loss
    state[STATE_TAKE_PROFIT] = take_profit
    state[STATE_TRAILING_STOP] = trailing_stop
    state[STATE_EXTREME] = state[STATE_ENTRY_PRICE]


@njit(cache=True)
def _stop_level(state: np.ndarray) -> tuple[float, int]:
    """The binding stop price and its reason: the tighter of the fixed and the trailing stop."""
    direction = state[STATE_DIRECTION]
    entry = state[STATE_ENTRY_PRICE]
    fixed = entry * (1.0 - direction * state[STATE_STOP_LOSS])
    trailing = state[STATE_EXTREME] * (1.0 - direction * state[STATE_TRAILING_STOP])
    if np.isnan(trailing):
        return fixed, ExitReason.stop
    # The trailing stop binds only when strictly tighter; a tie is reported as the fixed stop.
    if np.isnan(fixed) or direction * (trailing - fixed) > 0.0:
        return trailing, ExitReason.trailing_stop
    return fixed, ExitReason.stop


@njit(cache=True)
def bar_exit_nb(state: np.ndarray, open_: float, high: float, low: float) -> tuple[int, float]:
    """Check one bar for a stop/target exit: (reason, fill price), reason -1 when none.

    Order: the open (a gap through the stop or the target fills at the open), then the low (long)
    / high (short) against the stop — first, the pessimistic same-bar rule — then the target.
    """
    direction = state[STATE_DIRECTION]
    stop, stop_reason = _stop_level(state)
    target = state[STATE_ENTRY_PRICE] * (1.0 + direction * state[STATE_TAKE_PROFIT])
    adverse = low if direction > 0 else high
    favourable = high if direction > 0 else low
    # direction * (price - level) <= 0: at or through the level on the losing side (NaN: never).
    if direction * (open_ - stop) <= 0.0:
        return stop_reason, open_
    if direction * (open_ - target) >= 0.0:
        return ExitReason.take_profit, open_
    if direction * (adverse - stop) <= 0.0:
        return stop_reason, stop
    if direction * (favourable - target) >= 0.0:
        return ExitReason.take_profit, target
    return -1, 0.0


@njit(cache=True)
def advance_extreme_nb(state: np.ndarray, high: float, low: float) -> None:
    """After a bar without an exit: fold its high (long) / low (short) into the trailing extreme."""
    if state[STATE_DIRECTION] > 0:
        state[STATE_EXTREME] = max(state[STATE_EXTREME], high)
    else:
        state[STATE_EXTREME] = min(state[STATE_EXTREME], low)


@njit(cache=True)
def has_exits_nb(state: np.ndarray) -> bool:
    """Whether the open trade carries any stop, target or trailing stop."""
    return not (
        np.isnan(state[STATE_STOP_LOSS])
        and np.isnan(state[STATE_TAKE_PROFIT])
        and np.isnan(state[STATE_TRAILING_STOP])
    )
