"""Walk-forward stitching: capital compounds across folds, nothing is carried over a boundary."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from unit.backtesting.conftest import make_bars, random_walk_bars

from ktrdr.backtesting import compute_metrics, simulate_positions
from ktrdr.backtesting.stitching import FoldInput, flat_at_end, simulate_folds

COSTS = {"commission_bps": 1.0, "slippage_bps": 0.5}


def two_folds(seed: int = 3) -> list[FoldInput]:
    bars = random_walk_bars(200, seed)
    rng = np.random.default_rng(seed)
    targets = rng.choice(np.array([-1, 0, 1], dtype=np.int8), size=200)
    return [
        FoldInput(1, bars.iloc[:120], targets[:120]),
        FoldInput(2, bars.iloc[120:], targets[120:]),
    ]


def test_the_second_fold_starts_with_the_capital_the_first_ended_with() -> None:
    folds = two_folds()
    stitched = simulate_folds(folds, **COSTS)
    first, second = stitched.folds
    alone = simulate_positions(folds[0].bars, flat_at_end(folds[0].target_position), **COSTS)
    assert first.result.equity.equals(alone.equity)
    assert second.result.equity.iloc[0] == pytest.approx(first.result.equity.iloc[-1])
    growth = (1 + first.result.metrics["total_return"]) * (
        1 + second.result.metrics["total_return"]
    )
    assert stitched.result.metrics["total_return"] == pytest.approx(growth - 1)


def test_the_stitched_metrics_are_the_metrics_of_the_stitched_curve() -> None:
    folds = two_folds(5)
    stitched = simulate_folds(folds, **COSTS)
    bars = pd.concat([fold.bars for fold in folds])
    assert len(stitched.result.equity) == len(bars) == len(stitched.target_position)
    expected = compute_metrics(stitched.result.trades, stitched.result.equity, bars)
    assert stitched.result.metrics == expected
    fold_trades = sum(len(run.result.trades) for run in stitched.folds)
    assert stitched.result.metrics["total_trades"] == fold_trades


def test_no_position_is_carried_across_a_fold_boundary() -> None:
    bars = make_bars(np.linspace(100, 110, 10), np.linspace(100.5, 110.5, 10), freq="1h")
    long_all_along = np.ones(10, dtype=np.int8)
    stitched = simulate_folds(
        [
            FoldInput(1, bars.iloc[:5], long_all_along[:5]),
            FoldInput(2, bars.iloc[5:], long_all_along[5:]),
        ]
    )
    trades = stitched.result.trades
    assert len(trades) == 2
    assert not trades["open_at_end"].any()
    assert list(trades["exit_time"]) == [bars.index[4], bars.index[9]]
    assert list(stitched.target_position[[3, 4, 8, 9]]) == [0, 0, 0, 0]


def test_each_fold_trades_with_its_own_exits_and_the_shared_costs() -> None:
    bars = random_walk_bars(200, 7)
    targets = np.where(np.arange(200) % 30 < 20, 1, -1).astype(np.int8)
    stops = np.full(200, 0.002)
    stops[120:] = np.nan  # the second fold's entries have no stop
    folds = [
        FoldInput(1, bars.iloc[:120], targets[:120], {"stop_loss": stops[:120]}),
        FoldInput(2, bars.iloc[120:], targets[120:], {"stop_loss": stops[120:]}),
    ]
    costs = {**COSTS, "spread_bps": 2.0}
    stitched = simulate_folds(folds, **costs)
    first, second = stitched.folds
    alone = simulate_positions(
        folds[0].bars, flat_at_end(targets[:120]), stop_loss=stops[:120], **costs
    )
    pd.testing.assert_frame_equal(first.result.trades, alone.trades)
    assert "stop" in set(first.result.trades["exit_reason"])
    assert "stop" not in set(second.result.trades["exit_reason"])
