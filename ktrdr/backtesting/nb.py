"""Numba kernels of the backtest engine: arrays in, arrays and status codes out, never raising."""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
from numba import njit

from ktrdr.backtesting.exits import (
    STATE_DIRECTION,
    STATE_ENTRY_INDEX,
    STATE_LOCK,
    STATE_UNITS,
    ExitReason,
    advance_extreme_nb,
    bar_exit_nb,
    flex_at_nb,
    has_exits_nb,
    resolve_wanted_nb,
)
from ktrdr.backtesting.fills import (
    FLOAT_PNL,
    FLOAT_RETURN,
    close_position_nb,
    financing_nb,
    open_position_nb,
    record_columns_nb,
)
from ktrdr.backtesting.metrics_nb import equity_metrics_nb, trade_stats_nb


class SimulationStatusT(NamedTuple):
    """Codes returned by :func:`simulate_positions_nb`; the caller turns failures into errors."""

    ok: int = 0
    invalid_open: int = 1  # open price NaN, infinite or <= 0 at the returned bar
    invalid_close: int = 2  # close price NaN, infinite or <= 0 at the returned bar
    invalid_target: int = 3  # target position not in {-1, 0, +1} at the returned bar
    equity_depleted: int = 4  # equity <= 0 at an entry fill: entries refused from then on
    invalid_high_low: int = 5  # high or low NaN, infinite or <= 0 at the returned bar (exits on)
    records_full: int = 6  # no room for the trade entered at the returned bar (a caller's bug)


SimulationStatus = SimulationStatusT()


class SignalT(NamedTuple):
    """Class indices of the model's output (contracts: 0 = SELL, 1 = HOLD, 2 = BUY)."""

    sell: int = 0
    hold: int = 1
    buy: int = 2


Signal = SignalT()


@njit(cache=True)
def _is_valid_price(price: float) -> bool:
    return np.isfinite(price) and price > 0.0


@njit(cache=True)
def signal_fill_nb(
    state: np.ndarray,
    wanted: int,
    index: int,
    bars_held: int,
    price: float,
    cost_rate: float,
    records: np.ndarray,
    n_records: int,
    symbol: int,
) -> tuple[float, int]:
    """Exit a held position the target no longer wants at ``price``: (cash change, trades added)."""
    direction = int(state[STATE_DIRECTION])
    if direction == 0 or wanted == direction:
        return 0.0, 0
    cash = close_position_nb(
        state,
        price,
        index,
        bars_held,
        ExitReason.signal,
        False,
        cost_rate,
        records,
        n_records,
        symbol,
    )
    return cash, 1


@njit(cache=True)
def bar_exit_fill_nb(
    state: np.ndarray,
    index: int,
    bars_held: int,
    open_: float,
    high: float,
    low: float,
    cost_rate: float,
    records: np.ndarray,
    n_records: int,
    symbol: int,
) -> tuple[float, int]:
    """Apply this bar's stop/target check to a held position: (cash change, trades added)."""
    if state[STATE_DIRECTION] == 0.0 or not has_exits_nb(state):
        return 0.0, 0
    reason, price = bar_exit_nb(state, open_, high, low)
    if reason < 0:
        advance_extreme_nb(state, high, low)
        return 0.0, 0
    lock = state[STATE_DIRECTION]
    cash = close_position_nb(
        state,
        price,
        index,
        bars_held,
        reason,
        False,
        cost_rate,
        records,
        n_records,
        symbol,
    )
    state[STATE_LOCK] = lock
    return cash, 1


@njit(cache=True)
def simulate_positions_nb(
    open_: np.ndarray,
    high: np.ndarray,
    low: np.ndarray,
    close: np.ndarray,
    target: np.ndarray,
    check_exits: bool,
    stop_loss: np.ndarray,
    take_profit: np.ndarray,
    trailing_stop: np.ndarray,
    fraction: np.ndarray,
    cost_rate: float,
    financing_per_day: float,
    days: np.ndarray,
    initial_capital: float,
    equity_out: np.ndarray,
    trades_out: np.ndarray,
    state: np.ndarray,
) -> tuple[int, int, int]:
    """Fill target[t-1] at open[t], apply exits, mark equity at close[t]: (status, bad bar, trades).

    ``stop_loss``, ``take_profit``, ``trailing_stop`` and ``fraction`` hold one value per decision
    bar or a single value for all (NaN exit = none; NaN fraction = no entry); ``days`` the days from
    each close to the next (0 at the last; or one value): financing at close t is charged on the
    position held there for days[t]. A position open after the last bar is closed at close[n-1] with
    its exit cost, which equity_out[n-1] includes (its exit row: n-1). ``trades_out`` is a
    TRADE_RECORD_DTYPE array with a row per trade the run can close (``trade_capacity_nb``; n
    rows always suffice); ``state`` a flat position's state (``new_state_nb()``), passed in so
    that no array is allocated here.
    """
    n = open_.shape[0]
    status = SimulationStatus.ok
    cash = initial_capital
    n_trades = 0
    # Local copies of the state's hot fields, refreshed after each helper call: reading them
    # from the array on every bar costs several times the bar.
    units = direction = 0.0
    locked = False
    for t in range(n):
        price = open_[t]
        if not _is_valid_price(price):
            return SimulationStatus.invalid_open, t, n_trades
        if not _is_valid_price(close[t]):
            return SimulationStatus.invalid_close, t, n_trades
        if check_exits and not (_is_valid_price(high[t]) and _is_valid_price(low[t])):
            return SimulationStatus.invalid_high_low, t, n_trades
        decided = target[t]
        if decided != -1.0 and decided != 0.0 and decided != 1.0:
            return SimulationStatus.invalid_target, t, n_trades
        if t == 0:
            equity_out[0] = cash
            continue
        # Helpers are called only when something can happen: a call per bar costs ~10x the bar.
        if target[t - 1] != direction or locked:
            wanted = resolve_wanted_nb(state, target[t - 1])
            held_for = t - int(state[STATE_ENTRY_INDEX])
            change, added = signal_fill_nb(
                state, wanted, t, held_for, price, cost_rate, trades_out, n_trades, 0
            )
            cash += change
            n_trades += added
            if wanted != 0 and state[STATE_DIRECTION] == 0.0:
                size = flex_at_nb(fraction, t - 1)
                if cash <= 0.0:
                    status = SimulationStatus.equity_depleted
                elif not np.isnan(size):
                    if n_trades == trades_out.shape[0]:
                        # Flat here, so every trade so far is recorded: this one would not fit.
                        return SimulationStatus.records_full, t, n_trades
                    cash += open_position_nb(
                        state, t, wanted, price, size * cash, cost_rate,
                        flex_at_nb(stop_loss, t - 1),
                        flex_at_nb(take_profit, t - 1),
                        flex_at_nb(trailing_stop, t - 1),
                    )  # fmt: skip
            units, direction = state[STATE_UNITS], state[STATE_DIRECTION]
            locked = not np.isnan(state[STATE_LOCK])
        if check_exits and direction != 0.0:
            held_for = t - int(state[STATE_ENTRY_INDEX])
            change, added = bar_exit_fill_nb(
                state, t, held_for, price, high[t], low[t], cost_rate,
                trades_out, n_trades, 0,
            )  # fmt: skip
            cash += change
            n_trades += added
            units, direction = state[STATE_UNITS], state[STATE_DIRECTION]
            locked = not np.isnan(state[STATE_LOCK])
        if financing_per_day > 0.0 and direction != 0.0:
            cash += financing_nb(state, close[t], financing_per_day, flex_at_nb(days, t))
        equity_out[t] = cash + units * close[t]
    final_equity = cash + state[STATE_UNITS] * close[n - 1]
    if state[STATE_DIRECTION] != 0.0:
        # Close the position left open at the last close, paying the exit cost like any fill.
        held_for = n - int(state[STATE_ENTRY_INDEX])
        final_equity += close_position_nb(
            state,
            close[n - 1],
            n - 1,
            held_for,
            ExitReason.end,
            True,
            cost_rate,
            trades_out,
            n_trades,
            0,
        )
        n_trades += 1
    equity_out[n - 1] = final_equity
    return status, -1, n_trades


@njit(cache=True)
def measure_run_nb(
    records: np.ndarray,
    equity: np.ndarray,
    local: np.ndarray,
    per_day: int,
    periods: float,
    span_years: float,
) -> tuple:
    """A completed run's trade columns (record_columns_nb), the RAW_* metrics of its equity on
    the ``local`` clock and the STATS_* of its trades, in one call from Python."""
    columns = record_columns_nb(records)
    raw = equity_metrics_nb(equity, local, per_day, periods, span_years)
    floats, bars_held = columns[6], columns[3]
    return columns, raw, trade_stats_nb(floats[FLOAT_PNL], floats[FLOAT_RETURN], bars_held)


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
