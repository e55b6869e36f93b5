"""The backtest job: runs in a worker process as ``run_backtest_job(operation_id, request)``."""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping
from typing import Any

import pandas as pd

from ktrdr.backtesting.artifacts import save_artifacts
from ktrdr.backtesting.decisions import decide_positions
from ktrdr.backtesting.inputs import (
    DEFAULT_CHUNK_ROWS,
    MIN_BACKTEST_BARS,
    BarsByTimeframe,
)
from ktrdr.backtesting.job_support import json_metrics, load_predictor
from ktrdr.backtesting.ranges import RANGE, WALK_FORWARD
from ktrdr.backtesting.simulator import simulate_positions
from ktrdr.backtesting.walk_forward import run_walk_forward
from ktrdr.errors import DataError
from ktrdr.execution import JobReporter
from ktrdr.execution.artifacts import artifact_sink

logger = logging.getLogger(__name__)


def run_backtest_job(operation_id: str, request: dict[str, Any]) -> dict[str, Any]:
    """Backtest the model in ``request`` and save its trades and equity; the DESIGN §8 summary.

    A ``walk_forward`` request backtests its folds (``run_walk_forward``); ``range`` and
    ``holdout`` requests backtest the one bundle over their range. The request carries the
    bars (``backtest_bars``) and the bundle's folder, or its files (``bundle_files``) when it
    was sent to a node that may not share the disk; the job writes its files through the
    artifact sink.
    """
    started = time.monotonic()
    reporter = JobReporter(operation_id)
    if request.get("mode") == WALK_FORWARD:
        return run_walk_forward(operation_id, request, reporter)
    symbol = request["symbol"]
    start = pd.Timestamp(request["start_date"])

    reporter.progress(percentage=1, current_step="loading model")
    predictor = load_predictor(request)
    strategy = predictor.strategy
    bars: BarsByTimeframe = request["bars"]
    reporter.check_cancelled()

    reporter.progress(percentage=5, current_step="predicting")
    predictions = predictor.predict(
        bars,
        start=start,
        chunk_rows=int(request.get("chunk_rows", DEFAULT_CHUNK_ROWS)),
        on_chunk=lambda done, total: _report_chunk(reporter, done, total),
    )
    traded = bars[strategy.base_timeframe()].loc[predictions.index]
    _check_enough_bars(traded, symbol, request)

    reporter.check_cancelled()
    reporter.progress(percentage=90, current_step="simulating")
    decisions = strategy.decisions
    positions = decide_positions(
        predictions.probabilities,
        confidence_threshold=decisions.confidence_threshold,
        allow_short_from_flat=decisions.allow_short_from_flat,
        min_signal_separation=decisions.filters.min_signal_separation,
    )
    result = simulate_positions(traded, positions, **request["costs"])

    reporter.check_cancelled()
    reporter.progress(percentage=97, current_step="saving")
    sink = artifact_sink()
    saved = save_artifacts(sink.path("backtests", operation_id), result, positions, traded["close"])
    artifacts = {kind: str(sink.published(path)) for kind, path in saved.items()}
    logger.info(
        "operation %s: backtested %s on %s %d bars in %.1f s: %d trades, total return %s",
        operation_id,
        strategy.name,
        symbol,
        len(traded),
        time.monotonic() - started,
        result.metrics["total_trades"],
        result.metrics["total_return"],
    )
    reporter.done(f"backtested {len(traded):,} bars: {result.metrics['total_trades']} trades")
    return {
        "mode": request.get("mode", RANGE),
        "in_sample": bool(request.get("in_sample", False)),
        "metrics": json_metrics(result.metrics),
        "start_date": traded.index[0].isoformat(),
        "end_date": traded.index[-1].isoformat(),
        "bars": len(traded),
        "artifacts": artifacts,
    }


def _report_chunk(reporter: JobReporter, done: int, total: int) -> None:
    reporter.check_cancelled()
    reporter.progress(
        percentage=5 + 85 * done / total,
        current_step="predicting",
        items_done=done,
        items_total=total,
    )


def _check_enough_bars(traded: pd.DataFrame, symbol: str, request: Mapping[str, Any]) -> None:
    if len(traded) < MIN_BACKTEST_BARS:
        raise DataError(
            f"backtest range {request['start_date']}..{request['end_date']} of {symbol}: only "
            f"{len(traded)} bars have a prediction after the indicators' warm-up; need at least "
            f"{MIN_BACKTEST_BARS} — widen the range"
        )
