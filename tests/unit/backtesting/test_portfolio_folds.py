"""Walk-forward portfolios: folds traded one after another equal the joined portfolio run."""

from __future__ import annotations

import numpy as np
import pytest
from support.strategies import make_strategy
from unit.backtesting.conftest import random_walk_bars

from ktrdr.backtesting.markets import TradedMarket, trade_markets
from ktrdr.backtesting.stitching import FoldInput, flat_at_end, simulate_portfolio_folds

COSTS = {"commission_bps": 1.0, "slippage_bps": 0.5, "per_symbol": {"B": {"spread_bps": 4.0}}}
STRATEGY = make_strategy({"rsi_14": {"type": "rsi", "period": 14}}, [{"raw_indicator": "rsi_14"}])


def folds_of(seed: int) -> list[FoldInput]:
    bars = random_walk_bars(240, seed)
    targets = np.random.default_rng(seed).choice(np.array([-1, 0, 1], dtype=np.int8), size=240)
    stops = np.full(240, 0.003)
    return [
        FoldInput(k + 1, bars.iloc[s], targets[s], {"stop_loss": stops[s]})
        for k, s in enumerate((slice(0, 120), slice(120, 240)))
    ]


def test_fold_runs_chain_their_capital_and_match_the_joined_run() -> None:
    folds = {"A": folds_of(3), "B": folds_of(4)}
    stitched = simulate_portfolio_folds(STRATEGY, folds, COSTS)
    first, second = stitched.folds
    assert second.result.equity.iloc[0] == pytest.approx(first.result.equity.iloc[-1])
    assert stitched.result.equity.iloc[-1] == pytest.approx(second.result.equity.iloc[-1])
    assert set(stitched.symbol_metrics) == {"A", "B"}
    assert set(stitched.result.trades["symbol"]) == {"A", "B"}
    alone = trade_markets(
        STRATEGY,
        [
            TradedMarket(s, f[0].bars, flat_at_end(f[0].target_position), f[0].exits)
            for s, f in folds.items()
        ],
        COSTS,
    )
    assert first.result.equity.equals(alone.result.equity)


def test_a_portfolio_ruined_in_one_fold_stays_flat_in_the_next() -> None:
    folds = {"A": folds_of(3), "B": folds_of(4)}
    ruin = folds["A"][0]
    soaring = ruin.bars.copy()
    ramp = np.linspace(1.0, 30.0, len(soaring))
    for column in ("open", "high", "low", "close"):
        soaring[column] = soaring[column].to_numpy() * ramp
    folds["A"][0] = FoldInput(ruin.fold, soaring, np.full(len(soaring), -1, dtype=np.int8))
    stitched = simulate_portfolio_folds(STRATEGY, folds, COSTS)
    first, second = stitched.folds
    assert first.result.equity.iloc[-1] <= 0
    assert second.result.trades.empty
    assert (second.result.equity == first.result.equity.iloc[-1]).all()
    assert stitched.result.equity.iloc[-1] == first.result.equity.iloc[-1]
    assert second.result.metrics["total_trades"] == 0
    assert list(second.target_position.columns) == ["A", "B"]
