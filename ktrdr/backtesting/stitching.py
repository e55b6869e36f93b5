"""Walk-forward stitching (DESIGN §11): consecutive out-of-sample slices as one equity curve."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from ktrdr.backtesting.execution_plan import ExitValue
from ktrdr.backtesting.markets import (
    DEFAULT_CAPITAL,
    TradedMarket,
    concatenated,
    targets_frame,
    trade_markets,
)
from ktrdr.backtesting.metrics import compute_metrics
from ktrdr.backtesting.simulator import TRADE_COLUMNS, SimulationResult, simulate_positions
from ktrdr.strategy import StrategyConfig


@dataclass(frozen=True)
class FoldInput:
    """One fold's traded bars, the target positions its model decided on them, the exits of
    its entries and the volatility-target fractions per decision bar computed over the history
    (``simulate_positions`` arguments aligned to ``bars``; ``sizing`` None: the arguments')."""

    fold: int
    bars: pd.DataFrame
    target_position: np.ndarray
    exits: Mapping[str, ExitValue] = field(default_factory=dict)
    sizing: np.ndarray | None = None


@dataclass(frozen=True)
class FoldRun:
    """One fold's simulation, started with the capital the previous fold ended with."""

    fold: int
    result: SimulationResult
    target_position: np.ndarray | pd.DataFrame


@dataclass(frozen=True)
class StitchedRun:
    """The stitched simulation (metrics over the whole curve) and each fold's own run."""

    result: SimulationResult
    target_position: np.ndarray | pd.DataFrame
    folds: list[FoldRun]
    symbol_metrics: dict[str, Any] | None = None


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
    initial_capital: float = DEFAULT_CAPITAL,
    **arguments: Any,
) -> StitchedRun:
    """Simulate each fold's slice, compounding capital across folds, and stitch the results.

    ``arguments`` are the other ``simulate_positions`` arguments every fold trades with (costs,
    sizing); each fold adds its own ``exits`` and, with a volatility target, its ``sizing``.

    Fold k starts with the equity fold k-1 ended with, so the stitched equity curve is
    continuous (the step between two slices is a flat bar, return 0). Metrics are computed on
    the stitched trades, equity and bars with the same ``compute_metrics`` as any backtest.
    """
    capital = initial_capital
    runs: list[FoldRun] = []
    for fold in folds:
        targets = flat_at_end(fold.target_position)
        own = {**fold.exits}
        if fold.sizing is not None and arguments.get("sizing") is not None:
            own["sizing"] = fold.sizing
        result = _simulate(fold.bars, targets, capital, {**arguments, **own})
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
    bars: pd.DataFrame, targets: np.ndarray, capital: float, arguments: Mapping[str, Any]
) -> SimulationResult:
    if capital <= 0:
        # A ruined account trades no more: the rest of the curve stays where it ended.
        equity = pd.Series(capital, index=bars.index, name="equity", dtype=np.float64)
        trades = pd.DataFrame(columns=list(TRADE_COLUMNS))
        return SimulationResult(trades, equity, compute_metrics(trades, equity, bars))
    return simulate_positions(bars, targets, initial_capital=capital, **arguments)


def simulate_portfolio_folds(
    strategy: StrategyConfig,
    folds_by_symbol: Mapping[str, Sequence[FoldInput]],
    costs: Mapping[str, Any],
    *,
    initial_capital: float = DEFAULT_CAPITAL,
) -> StitchedRun:
    """Trade each fold's slices of every symbol as one portfolio, compounding capital.

    Every fold ends flat (``flat_at_end``), so the folds' slices joined into one portfolio run
    trade exactly as fold after fold, each starting with the equity the previous one ended
    with; that run gives the stitched metrics and each symbol's. Each fold's own metrics come
    from its own portfolio run from that equity; a fold that starts with equity <= 0 (the
    account was ruined) trades nothing and keeps that equity.
    """
    symbols = list(folds_by_symbol)
    n_folds = len(folds_by_symbol[symbols[0]])
    slices = [
        [_flat_market(symbol, folds_by_symbol[symbol][k]) for symbol in symbols]
        for k in range(n_folds)
    ]
    whole = trade_markets(
        strategy,
        [concatenated([fold[number] for fold in slices]) for number in range(len(symbols))],
        costs,
        initial_capital=initial_capital,
    )
    runs = []
    for k, markets in enumerate(slices):
        first = min(market.bars.index[0] for market in markets)
        capital = float(whole.result.equity.loc[first])
        fold = folds_by_symbol[symbols[0]][k].fold
        if capital <= 0:
            runs.append(_ruined_fold(fold, strategy, markets, costs, capital))
            continue
        run = trade_markets(strategy, markets, costs, initial_capital=capital)
        runs.append(FoldRun(fold, run.result, run.target_position))
    return StitchedRun(whole.result, whole.target_position, runs, whole.symbol_metrics)


def _ruined_fold(
    fold: int,
    strategy: StrategyConfig,
    markets: Sequence[TradedMarket],
    costs: Mapping[str, Any],
    capital: float,
) -> FoldRun:
    """A fold that starts with equity <= 0: a ruined account trades no more, its equity stays
    where it ended (as ``simulate_folds`` does for one symbol); metrics of a flat account."""
    flat = trade_markets(
        strategy,
        [TradedMarket(m.symbol, m.bars, np.zeros(len(m.bars), dtype=np.int8)) for m in markets],
        costs,
    )
    index = flat.result.equity.index
    equity = pd.Series(capital, index=index, name="equity", dtype=np.float64)
    result = SimulationResult(flat.result.trades, equity, flat.result.metrics)
    return FoldRun(fold, result, targets_frame(markets, index))


def _flat_market(symbol: str, fold: FoldInput) -> TradedMarket:
    return TradedMarket(
        symbol, fold.bars, flat_at_end(fold.target_position), fold.exits, fold.sizing
    )
