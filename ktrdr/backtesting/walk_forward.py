"""The walk-forward backtest job: each fold's model trades its own out-of-sample slice."""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

from ktrdr.backtesting.artifacts import save_artifacts
from ktrdr.backtesting.decisions import decide_positions
from ktrdr.backtesting.inputs import DEFAULT_CHUNK_ROWS, MIN_BACKTEST_BARS, BarsByTimeframe
from ktrdr.backtesting.job_support import json_metrics, json_number, load_predictor
from ktrdr.backtesting.ranges import WALK_FORWARD
from ktrdr.backtesting.stitching import FoldInput, StitchedRun, simulate_folds
from ktrdr.data import slice_bars
from ktrdr.errors import DataError
from ktrdr.execution import JobReporter
from ktrdr.execution.artifacts import artifact_sink
from ktrdr.strategy import StrategyConfig

logger = logging.getLogger(__name__)


def run_walk_forward(
    operation_id: str, request: dict[str, Any], reporter: JobReporter
) -> dict[str, Any]:
    """Predict every fold's slice with its own ensemble, stitch, and save the stitched run.

    Each fold sees the bars up to its slice's end (earlier bars are indicator history; the
    features are causal). The result carries the stitched metrics, each fold's own metrics and
    each ensemble member's stitched Sharpe ratio (``seed_sharpes``, the seed dispersion).
    """
    started = time.monotonic()
    bars: BarsByTimeframe = request["bars"]
    folds = request["folds"]
    ensemble_inputs: list[FoldInput] = []
    member_probabilities: list[np.ndarray] = []
    strategy: StrategyConfig | None = None
    for number, fold in enumerate(folds):
        reporter.check_cancelled()
        reporter.progress(
            percentage=5 + 80 * number / len(folds),
            current_step=f"predicting fold {fold['fold']}",
            items_done=number,
            items_total=len(folds),
        )
        predictor = load_predictor(fold)
        strategy = predictor.strategy
        upto = {tf: slice_bars(frame, None, fold["end_date"]) for tf, frame in bars.items()}
        predictions = predictor.predict(
            upto,
            start=pd.Timestamp(fold["start_date"]),
            chunk_rows=int(request.get("chunk_rows", DEFAULT_CHUNK_ROWS)),
        )
        traded = upto[strategy.base_timeframe()].loc[predictions.index]
        _check_slice(traded, fold, request["symbol"])
        ensemble_inputs.append(
            FoldInput(fold["fold"], traded, _positions(strategy, predictions.probabilities))
        )
        member_probabilities.append(predictions.member_probabilities)
    assert strategy is not None  # the service sends at least one fold
    member_inputs = _member_inputs(strategy, ensemble_inputs, member_probabilities)
    reporter.check_cancelled()
    reporter.progress(percentage=88, current_step="simulating the stitched curve")
    stitched = simulate_folds(ensemble_inputs, **request["costs"])
    seed_sharpes = [
        json_number(simulate_folds(inputs, **request["costs"]).result.metrics["sharpe_ratio"])
        for inputs in member_inputs
    ]
    reporter.progress(percentage=97, current_step="saving")
    sink = artifact_sink()
    close = pd.concat([fold.bars["close"] for fold in ensemble_inputs])
    saved = save_artifacts(
        sink.path("backtests", operation_id),
        stitched.result,
        stitched.target_position,
        close[~close.index.duplicated(keep="last")],
    )
    logger.info(
        "operation %s: walk-forward backtest of %s on %s, %d folds, %d bars in %.1f s: "
        "%d trades, total return %s",
        operation_id,
        strategy.name,
        request["symbol"],
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


def _positions(strategy: StrategyConfig, probabilities: np.ndarray) -> np.ndarray:
    decisions = strategy.decisions
    return decide_positions(
        probabilities,
        confidence_threshold=decisions.confidence_threshold,
        allow_short_from_flat=decisions.allow_short_from_flat,
        min_signal_separation=decisions.filters.min_signal_separation,
    )


def _member_inputs(
    strategy: StrategyConfig, folds: list[FoldInput], member_probabilities: list[np.ndarray]
) -> list[list[FoldInput]]:
    """Each ensemble member's own positions on every fold, for its stitched Sharpe ratio."""
    members = {len(probabilities) for probabilities in member_probabilities}
    if len(members) != 1:
        raise DataError(
            f"the fold bundles hold different numbers of ensemble members ({sorted(members)}); "
            "every fold of one model trains the same seeds"
        )
    return [
        [
            FoldInput(fold.fold, fold.bars, _positions(strategy, probabilities[member]))
            for fold, probabilities in zip(folds, member_probabilities, strict=True)
        ]
        for member in range(members.pop())
    ]


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
    }
