"""Walk-forward stitching (DESIGN §11): consecutive out-of-sample slices as one equity curve."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from ktrdr.backtesting.metrics import compute_metrics
from ktrdr.backtesting.simulator import TRADE_COLUMNS, SimulationResult, simulate_positions

DEFAULT_CAPITAL = 100_000.0


@dataclass(frozen=True)
class FoldInput:
    """One fold's traded bars and the target positions its model decided on them."""

    fold: int
    bars: pd.DataFrame
    target_position: np.ndarray


@dataclass(frozen=True)
class FoldRun:
    """One fold's simulation, started with the capital the previous fold ended with."""

    fold: int
    result: SimulationResult
    target_position: np.ndarray


@dataclass(frozen=True)
class StitchedRun:
    """The stitched simulation (metrics over the whole curve) and each fold's own run."""

    result: SimulationResult
    target_position: np.ndarray
    folds: list[FoldRun]


def flat_at_end(target_position: np.ndarray) -> np.ndarray:
    """The targets with the last two set flat: any position exits at the slice's last open.

    A target decided at bar t's close fills at bar t+1's open, so a flat target at the
    second-to-last bar closes the position (paying costs) before the slice ends; nothing is
    carried into the next fold, whose model may disagree.
    """
    targets = np.array(target_position, dtype=np.int8, copy=True)
    targets[-2:] = 0
    return targets


def simulate_folds(
    folds: Sequence[FoldInput],
    *,
    commission_bps: float = 0.0,
    slippage_bps: float = 0.0,
    initial_capital: float = DEFAULT_CAPITAL,
) -> StitchedRun:
    """Simulate each fold's slice, compounding capital across folds, and stitch the results.

    Fold k starts with the equity fold k-1 ended with, so the stitched equity curve is
    continuous (the step between two slices is a flat bar, return 0). Metrics are computed on
    the stitched trades, equity and bars with the same ``compute_metrics`` as any backtest.
    """
    capital = initial_capital
    runs: list[FoldRun] = []
    for fold in folds:
        targets = flat_at_end(fold.target_position)
        result = _simulate(fold.bars, targets, capital, commission_bps, slippage_bps)
        capital = float(result.equity.iloc[-1])
        runs.append(FoldRun(fold.fold, result, targets))
    bars = pd.concat([fold.bars for fold in folds])
    equity = pd.concat([run.result.equity for run in runs])
    trades = pd.concat(
        [run.result.trades for run in runs if not run.result.trades.empty]
        or [runs[0].result.trades],
        ignore_index=True,
    )
    stitched = SimulationResult(trades, equity, compute_metrics(trades, equity, bars))
    targets = np.concatenate([run.target_position for run in runs])
    return StitchedRun(stitched, targets, runs)


def _simulate(
    bars: pd.DataFrame,
    targets: np.ndarray,
    capital: float,
    commission_bps: float,
    slippage_bps: float,
) -> SimulationResult:
    if capital <= 0:
        # A ruined account trades no more: the rest of the curve stays where it ended.
        equity = pd.Series(capital, index=bars.index, name="equity", dtype=np.float64)
        trades = pd.DataFrame(columns=list(TRADE_COLUMNS))
        return SimulationResult(trades, equity, compute_metrics(trades, equity, bars))
    return simulate_positions(
        bars,
        targets,
        commission_bps=commission_bps,
        slippage_bps=slippage_bps,
        initial_capital=capital,
    )
