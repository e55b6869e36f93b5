"""Trade records are sized by the target's changes: the bound holds, and a breach stops the run."""

from __future__ import annotations

import numpy as np
import pytest

from ktrdr.backtesting import simulate_positions
from ktrdr.backtesting.exits import new_state_nb
from ktrdr.backtesting.fills import TRADE_RECORD_DTYPE, trade_capacity_nb
from ktrdr.backtesting.nb import SimulationStatus, simulate_positions_nb
from ktrdr.backtesting.simulator import raise_for_status
from ktrdr.errors import InvariantError


def runs_of_targets(rng: np.random.Generator, n: int) -> np.ndarray:
    """-1/0/+1 targets held for runs of 1 to 8 bars."""
    return np.repeat(rng.integers(-1, 2, n), rng.integers(1, 9, n))[:n].astype(np.int8)


def per_bar(rng: np.random.Generator, n: int, low: float, high: float) -> np.ndarray:
    """One fraction per bar, a third of them NaN (no such exit, or no entry)."""
    values = rng.uniform(low, high, n)
    values[rng.random(n) < 1 / 3] = np.nan
    return values


@pytest.mark.parametrize("seed", range(12))
def test_no_run_closes_more_trades_than_the_bound(seed, random_bars):
    rng = np.random.default_rng(seed)
    n = 400
    bars = random_bars(n, seed)
    target = runs_of_targets(rng, n)
    result = simulate_positions(
        bars,
        target,
        commission_bps=5.0,
        stop_loss=per_bar(rng, n, 0.002, 0.03),
        take_profit=per_bar(rng, n, 0.002, 0.03),
        trailing_stop=per_bar(rng, n, 0.002, 0.03),
        sizing=per_bar(rng, n, 0.1, 2.0),
    )
    assert 0 < len(result.trades) <= trade_capacity_nb(target)
    assert (result.trades["exit_reason"] != "signal").any()


def test_a_target_that_flips_every_bar_fills_the_bound(random_bars):
    target = np.tile(np.array([1, -1], dtype=np.int8), 50)
    result = simulate_positions(random_bars(100, 3), target)
    # 98 reversals after the first entry, and the position open at the end: 99 trades.
    assert len(result.trades) == trade_capacity_nb(target) - 1 == 99


def test_records_without_room_stop_the_run_at_the_entry_that_would_not_fit(random_bars):
    bars = random_bars(10, 1)
    open_, close = bars["open"].to_numpy(), bars["close"].to_numpy()
    target = np.array([1, 1, -1, -1, 1, 1, 1, 1, 1, 1], dtype=np.float64)
    none = np.full(1, np.nan)
    status, bad_bar, n_trades = simulate_positions_nb(
        open_, open_, open_, close, target, False, none, none, none, np.ones(1), 0.0, 0.0,
        np.zeros(1), 100_000.0, np.empty(10), np.empty(1, dtype=TRADE_RECORD_DTYPE),
        new_state_nb(),
    )  # fmt: skip
    # The long entered at bar 1 fits; the short entered at bar 3 has no row left.
    assert (status, bad_bar, n_trades) == (SimulationStatus.records_full, 3, 1)
    with pytest.raises(InvariantError, match=r"no room for the trade entered at bar 3 \("):
        raise_for_status(status, bad_bar, bars)
