"""The portfolio kernel: several symbols on the union of their timestamps, one cash account."""

from __future__ import annotations

import numpy as np
from numba import njit

from ktrdr.backtesting.exits import (
    STATE_DIRECTION,
    STATE_SIZE,
    STATE_UNITS,
    ExitReason,
    new_state_nb,
    resolve_wanted_nb,
)
from ktrdr.backtesting.fills import close_position_nb, financing_nb, open_position_nb
from ktrdr.backtesting.nb import (
    SimulationStatus,
    _is_valid_price,
    bar_exit_fill_nb,
    signal_fill_nb,
)


@njit(cache=True)
def _flex2(values: np.ndarray, row: int, symbol: int) -> float:
    return values[0, symbol] if values.shape[0] == 1 else values[row, symbol]


@njit(cache=True)
def _check_bar(
    open_: float, high: float, low: float, close: float, target: float, check_exits: bool
) -> int:
    if not _is_valid_price(open_):
        return SimulationStatus.invalid_open
    if not _is_valid_price(close):
        return SimulationStatus.invalid_close
    if check_exits and not (_is_valid_price(high) and _is_valid_price(low)):
        return SimulationStatus.invalid_high_low
    if target != -1.0 and target != 0.0 and target != 1.0:
        return SimulationStatus.invalid_target
    return SimulationStatus.ok


@njit(cache=True)
def _held_value(states: np.ndarray, last_close: np.ndarray) -> float:
    """Units held times each symbol's last close, summed over the symbols holding a position."""
    value = 0.0
    for s in range(states.shape[0]):
        if states[s, STATE_DIRECTION] != 0.0:
            value += states[s, STATE_UNITS] * last_close[s]
    return value


@njit(cache=True)
def simulate_portfolio_nb(
    open_: np.ndarray,
    high: np.ndarray,
    low: np.ndarray,
    close: np.ndarray,
    has_bar: np.ndarray,
    targets: np.ndarray,
    check_exits: bool,
    stop_loss: np.ndarray,
    take_profit: np.ndarray,
    trailing_stop: np.ndarray,
    fraction: np.ndarray,
    cost_rate: np.ndarray,
    financing_per_day: np.ndarray,
    days: np.ndarray,
    initial_capital: float,
    equity_out: np.ndarray,
    trades_out: np.ndarray,
) -> tuple[int, int, int, int, int]:
    """Trade S symbols' targets ((N, S) arrays on the union index) from one cash account.

    At each row, for the symbols with a bar (``has_bar``): target exits at the open; then
    entries of ``fraction`` (weight x sizing, per decision row; or one row for all) x the
    equity after those exits, other positions marked at their last close; then stops and
    targets within the bar; financing on every held position; equity marked with each
    symbol's last close. Returns (status, bad row, bad symbol, trades, rows ending exposed).
    """
    n_rows, n_symbols = has_bar.shape
    status = SimulationStatus.ok
    cash = initial_capital
    states = np.empty((n_symbols, STATE_SIZE))
    for s in range(n_symbols):
        states[s] = new_state_nb()
    last_close = np.full(n_symbols, np.nan)
    last_row = np.full(n_symbols, -1)
    ordinal = np.full(n_symbols, -1)
    entry_ordinal = np.zeros(n_symbols, dtype=np.int64)
    wanted = np.zeros(n_symbols, dtype=np.int64)
    n_trades = 0
    exposed = 0
    for t in range(n_rows):
        for s in range(n_symbols):
            if not has_bar[t, s]:
                continue
            code = _check_bar(
                open_[t, s], high[t, s], low[t, s], close[t, s], targets[t, s], check_exits
            )
            if code != SimulationStatus.ok:
                return code, t, s, n_trades, exposed
            ordinal[s] += 1
            if ordinal[s] == 0:
                continue
            state = states[s]
            wanted[s] = resolve_wanted_nb(state, targets[last_row[s], s])
            change, added = signal_fill_nb(
                state, wanted[s], t, ordinal[s] - entry_ordinal[s], open_[t, s], cost_rate[s],
                trades_out, n_trades, s,
            )  # fmt: skip
            cash += change
            n_trades += added
        sizing_equity = cash + _held_value(states, last_close)
        for s in range(n_symbols):
            if not has_bar[t, s] or ordinal[s] == 0:
                continue
            state = states[s]
            if wanted[s] == 0 or state[STATE_DIRECTION] != 0.0:
                continue
            row = last_row[s]
            size = _flex2(fraction, row, s)
            if sizing_equity <= 0.0:
                status = SimulationStatus.equity_depleted
            elif not np.isnan(size):
                cash += open_position_nb(
                    state, t, wanted[s], open_[t, s], size * sizing_equity, cost_rate[s],
                    _flex2(stop_loss, row, s),
                    _flex2(take_profit, row, s),
                    _flex2(trailing_stop, row, s),
                )  # fmt: skip
                entry_ordinal[s] = ordinal[s]
        for s in range(n_symbols):
            if not has_bar[t, s]:
                continue
            if check_exits and ordinal[s] > 0:
                change, added = bar_exit_fill_nb(
                    states[s], t, ordinal[s] - entry_ordinal[s], open_[t, s], high[t, s],
                    low[t, s], cost_rate[s], trades_out, n_trades, s,
                )  # fmt: skip
                cash += change
                n_trades += added
            last_close[s] = close[t, s]
            last_row[s] = t
        any_held = False
        for s in range(n_symbols):
            if states[s, STATE_DIRECTION] != 0.0:
                any_held = True
                if financing_per_day[s] > 0.0:
                    cash += financing_nb(states[s], last_close[s], financing_per_day[s], days[t])
        exposed += any_held
        equity_out[t] = cash + _held_value(states, last_close)
    for s in range(n_symbols):
        if states[s, STATE_DIRECTION] != 0.0:
            # Close what is left open at the symbol's last close, paying the exit cost.
            equity_out[n_rows - 1] += close_position_nb(
                states[s], last_close[s], last_row[s], ordinal[s] + 1 - entry_ordinal[s],
                ExitReason.end, True, cost_rate[s], trades_out, n_trades, s,
            )  # fmt: skip
            n_trades += 1
    return status, -1, -1, n_trades, exposed
