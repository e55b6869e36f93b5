"""The walk-forward backtest job: each fold's model trades its own out-of-sample slice."""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from ktrdr.backtesting.artifacts import save_artifacts
from ktrdr.backtesting.decisions import decide_positions
from ktrdr.backtesting.execution_plan import (
    ExitLevels,
    exit_levels,
    sizing_arguments,
    sizing_fractions,
    sizing_on,
    symbol_costs,
)
from ktrdr.backtesting.inputs import DEFAULT_CHUNK_ROWS, MIN_BACKTEST_BARS, BarsByTimeframe
from ktrdr.backtesting.job_support import (
    json_metrics,
    json_number,
    load_predictor,
    portfolio_summary,
)
from ktrdr.backtesting.ranges import WALK_FORWARD
from ktrdr.backtesting.stitching import (
    FoldInput,
    StitchedRun,
    simulate_folds,
    simulate_portfolio_folds,
)
from ktrdr.data import slice_bars
from ktrdr.errors import DataError
from ktrdr.execution import JobReporter
from ktrdr.execution.artifacts import artifact_sink
from ktrdr.strategy import StrategyConfig
from ktrdr.training.predictor import Predictor

logger = logging.getLogger(__name__)


def run_walk_forward(
    operation_id: str, request: dict[str, Any], reporter: JobReporter
) -> dict[str, Any]:
    """Predict every fold's slice with its own ensemble, stitch, and save the stitched run.

    Each fold sees the bars up to its slice's end (earlier bars are indicator history; the
    features are causal). Exits from the labels are computed once over all the request's bars
    (causal too) and aligned to each slice. Several symbols trade each fold as one portfolio.
    The result carries the stitched metrics, each fold's own metrics and each ensemble member's
    stitched Sharpe ratio (``seed_sharpes``, the seed dispersion); a portfolio's adds
    ``symbols`` and ``symbol_metrics``.
    """
    started = time.monotonic()
    symbols: list[str] = request["symbols"]
    folds = request["folds"]
    predicted: list[FoldPredictions] = []
    for number, fold in enumerate(folds):
        reporter.check_cancelled()
        reporter.progress(
            percentage=5 + 80 * number / len(folds),
            current_step=f"predicting fold {fold['fold']}",
            items_done=number,
            items_total=len(folds),
        )
        predicted.append(_predict_fold(load_predictor(fold), fold, request))
    strategy = predicted[0].strategy  # the service sends at least one fold
    bases = {symbol: request["bars"][symbol][strategy.base_timeframe()] for symbol in symbols}
    exits = {symbol: exit_levels(strategy, base) for symbol, base in bases.items()}
    sizings = {symbol: sizing_fractions(strategy, base) for symbol, base in bases.items()}
    reporter.check_cancelled()
    reporter.progress(percentage=88, current_step="simulating the stitched curve")
    stitched = _simulate(
        strategy, symbols, predicted, exits, sizings, request["costs"], member=None
    )
    members = _member_count(predicted)
    seed_sharpes = [
        json_number(
            _simulate(
                strategy, symbols, predicted, exits, sizings, request["costs"], member=member
            ).result.metrics["sharpe_ratio"]
        )
        for member in range(members)
    ]
    reporter.progress(percentage=97, current_step="saving")
    sink = artifact_sink()
    saved = save_artifacts(
        sink.path("backtests", operation_id),
        stitched.result,
        stitched.target_position,
        _stitched_close(predicted, symbols),
    )
    logger.info(
        "operation %s: walk-forward backtest of %s on %s, %d folds, %d bars in %.1f s: "
        "%d trades, total return %s",
        operation_id,
        strategy.name,
        ", ".join(symbols),
        len(folds),
        len(stitched.result.equity),
        time.monotonic() - started,
        stitched.result.metrics["total_trades"],
        stitched.result.metrics["total_return"],
    )
    reporter.done(
        f"backtested {len(folds)} folds, {len(stitched.result.equity):,} bars: "
        f"{stitched.result.metrics['total_trades']} trades"
    )
    return _summary(stitched, seed_sharpes, {k: str(sink.published(p)) for k, p in saved.items()})


def _stitched_close(predicted: list[FoldPredictions], symbols: list[str]) -> pd.Series | None:
    """A single market's close over every fold's slice (a portfolio has none to show)."""
    if len(symbols) != 1:
        return None
    close = pd.concat([fold.bars[symbols[0]]["close"] for fold in predicted])
    return close[~close.index.duplicated(keep="last")]


@dataclass(frozen=True)
class FoldPredictions:
    """One fold's model and, per symbol, its traded bars and ensemble/member probabilities."""

    fold: int
    strategy: StrategyConfig
    bars: dict[str, pd.DataFrame]
    probabilities: dict[str, np.ndarray]
    member_probabilities: dict[str, np.ndarray]


def _predict_fold(
    predictor: Predictor, fold: Mapping[str, Any], request: Mapping[str, Any]
) -> FoldPredictions:
    """Predict every symbol's slice of ``fold`` with the fold's ensemble (bars up to its end)."""
    strategy = predictor.strategy
    traded, probabilities, members = {}, {}, {}
    for symbol in request["symbols"]:
        frames: BarsByTimeframe = request["bars"][symbol]
        upto = {tf: slice_bars(frame, None, fold["end_date"]) for tf, frame in frames.items()}
        predictions = predictor.predict(
            upto,
            start=pd.Timestamp(fold["start_date"]),
            chunk_rows=int(request.get("chunk_rows", DEFAULT_CHUNK_ROWS)),
        )
        traded[symbol] = upto[strategy.base_timeframe()].loc[predictions.index]
        _check_slice(traded[symbol], fold, symbol)
        probabilities[symbol] = predictions.probabilities
        members[symbol] = predictions.member_probabilities
    return FoldPredictions(fold["fold"], strategy, traded, probabilities, members)


def _simulate(
    strategy: StrategyConfig,
    symbols: list[str],
    predicted: list[FoldPredictions],
    exits: Mapping[str, ExitLevels],
    sizings: Mapping[str, pd.Series | None],
    costs: Mapping[str, Any],
    *,
    member: int | None,
) -> StitchedRun:
    """The stitched run of the ensemble (``member`` None) or of one ensemble member."""
    inputs = {
        symbol: [
            FoldInput(
                fold.fold,
                fold.bars[symbol],
                _positions(
                    strategy,
                    fold.probabilities[symbol]
                    if member is None
                    else fold.member_probabilities[symbol][member],
                ),
                exits[symbol].on(fold.bars[symbol].index),
                sizing_on(sizings[symbol], fold.bars[symbol].index),
            )
            for fold in predicted
        ]
        for symbol in symbols
    }
    if len(symbols) == 1:
        symbol = symbols[0]
        return simulate_folds(
            inputs[symbol], **symbol_costs(costs, symbol), **sizing_arguments(strategy)
        )
    return simulate_portfolio_folds(strategy, inputs, costs)


def _positions(strategy: StrategyConfig, probabilities: np.ndarray) -> np.ndarray:
    decisions = strategy.decisions
    return decide_positions(
        probabilities,
        confidence_threshold=decisions.confidence_threshold,
        allow_short_from_flat=decisions.allow_short_from_flat,
        min_signal_separation=decisions.filters.min_signal_separation,
    )


def _member_count(predicted: list[FoldPredictions]) -> int:
    """How many ensemble members every fold bundle holds (the same in every fold)."""
    members = {
        len(probabilities)
        for fold in predicted
        for probabilities in fold.member_probabilities.values()
    }
    if len(members) != 1:
        raise DataError(
            f"the fold bundles hold different numbers of ensemble members ({sorted(members)}); "
            "every fold of one model trains the same seeds"
        )
    return members.pop()


def _check_slice(traded: pd.DataFrame, fold: Mapping[str, Any], symbol: str) -> None:
    if len(traded) < MIN_BACKTEST_BARS:
        raise DataError(
            f"fold {fold['fold']} slice {fold['start_date']}..{fold['end_date']} of {symbol}: "
            f"only {len(traded)} bars have a prediction; need at least {MIN_BACKTEST_BARS}"
        )


def _summary(
    stitched: StitchedRun, seed_sharpes: list[float | int | None], artifacts: dict[str, str]
) -> dict[str, Any]:
    equity = stitched.result.equity
    return {
        "mode": WALK_FORWARD,
        "in_sample": False,
        "metrics": json_metrics(stitched.result.metrics),
        "start_date": equity.index[0].isoformat(),
        "end_date": equity.index[-1].isoformat(),
        "bars": len(equity),
        "folds": [
            {
                "fold": run.fold,
                "start_date": run.result.equity.index[0].isoformat(),
                "end_date": run.result.equity.index[-1].isoformat(),
                "bars": len(run.result.equity),
                "metrics": json_metrics(run.result.metrics),
            }
            for run in stitched.folds
        ],
        "seed_sharpes": seed_sharpes,
        "artifacts": artifacts,
        **portfolio_summary(stitched.symbol_metrics),
    }
