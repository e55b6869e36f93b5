"""The backtest job: runs in a worker process as ``run_backtest_job(operation_id, request)``."""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping
from typing import Any

import pandas as pd

from ktrdr.backtesting.artifacts import save_artifacts
from ktrdr.backtesting.decisions import decide_positions
from ktrdr.backtesting.execution_plan import exit_levels, sizing_fractions, sizing_on
from ktrdr.backtesting.inputs import (
    DEFAULT_CHUNK_ROWS,
    MIN_BACKTEST_BARS,
    BarsByTimeframe,
)
from ktrdr.backtesting.job_support import json_metrics, load_predictor, portfolio_summary
from ktrdr.backtesting.markets import TradedMarket, trade_markets
from ktrdr.backtesting.ranges import RANGE, WALK_FORWARD
from ktrdr.backtesting.walk_forward import run_walk_forward
from ktrdr.errors import DataError
from ktrdr.execution import JobReporter
from ktrdr.execution.artifacts import artifact_sink
from ktrdr.training.predictor import Predictor

logger = logging.getLogger(__name__)


def run_backtest_job(operation_id: str, request: dict[str, Any]) -> dict[str, Any]:
    """Backtest the model in ``request`` and save its trades and equity; the DESIGN §8 summary.

    A ``walk_forward`` request backtests its folds (``run_walk_forward``); ``range`` and
    ``holdout`` requests backtest the one bundle over each symbol's range (several symbols as
    one portfolio). The request carries each symbol's bars (``backtest_bars``) and the
    bundle's folder, or its files (``bundle_files``) when it
    was sent to a node that may not share the disk; the job writes its files through the
    artifact sink.
    """
    started = time.monotonic()
    reporter = JobReporter(operation_id)
    if request.get("mode") == WALK_FORWARD:
        return run_walk_forward(operation_id, request, reporter)
    symbols: list[str] = request["symbols"]

    reporter.progress(percentage=1, current_step="loading model")
    predictor = load_predictor(request)
    strategy = predictor.strategy
    reporter.check_cancelled()

    markets = [
        _predicted_market(predictor, symbol, request, reporter, number, len(symbols))
        for number, symbol in enumerate(symbols)
    ]
    reporter.check_cancelled()
    reporter.progress(percentage=90, current_step="simulating")
    run = trade_markets(strategy, markets, request["costs"])

    reporter.check_cancelled()
    reporter.progress(percentage=97, current_step="saving")
    sink = artifact_sink()
    close = markets[0].bars["close"] if len(markets) == 1 else None
    saved = save_artifacts(
        sink.path("backtests", operation_id), run.result, run.target_position, close
    )
    artifacts = {kind: str(sink.published(path)) for kind, path in saved.items()}
    equity = run.result.equity
    logger.info(
        "operation %s: backtested %s on %s %d bars in %.1f s: %d trades, total return %s",
        operation_id,
        strategy.name,
        ", ".join(symbols),
        len(equity),
        time.monotonic() - started,
        run.result.metrics["total_trades"],
        run.result.metrics["total_return"],
    )
    reporter.done(
        f"backtested {len(equity):,} bars of {', '.join(symbols)}: "
        f"{run.result.metrics['total_trades']} trades"
    )
    return {
        "mode": request.get("mode", RANGE),
        "in_sample": bool(request.get("in_sample", False)),
        "metrics": json_metrics(run.result.metrics),
        "start_date": equity.index[0].isoformat(),
        "end_date": equity.index[-1].isoformat(),
        "bars": len(equity),
        "artifacts": artifacts,
        **portfolio_summary(run.symbol_metrics),
    }


def _predicted_market(
    predictor: Predictor,
    symbol: str,
    request: Mapping[str, Any],
    reporter: JobReporter,
    number: int,
    count: int,
) -> TradedMarket:
    """One symbol's traded bars, the positions the model decides on them, their exits and
    sizing (both over all the loaded bars: the warm-up history sizes the first entries)."""
    strategy = predictor.strategy
    bars: BarsByTimeframe = request["bars"][symbol]
    span = request["ranges"][symbol]
    reporter.progress(percentage=5 + 85 * number / count, current_step=f"predicting {symbol}")
    predictions = predictor.predict(
        bars,
        start=pd.Timestamp(span["start_date"]),
        chunk_rows=int(request.get("chunk_rows", DEFAULT_CHUNK_ROWS)),
        on_chunk=lambda done, total: _report_chunk(reporter, number, count, done, total),
    )
    base = bars[strategy.base_timeframe()]
    traded = base.loc[predictions.index]
    _check_enough_bars(traded, symbol, span)
    positions = decide_positions(
        predictions.probabilities,
        confidence_threshold=strategy.decisions.confidence_threshold,
        allow_short_from_flat=strategy.decisions.allow_short_from_flat,
        min_signal_separation=strategy.decisions.filters.min_signal_separation,
    )
    exits = exit_levels(strategy, base).on(traded.index)
    sizing = sizing_on(sizing_fractions(strategy, base), traded.index)
    return TradedMarket(symbol, traded, positions, exits, sizing)


def _report_chunk(reporter: JobReporter, number: int, count: int, done: int, total: int) -> None:
    """Progress of symbol ``number`` of ``count``: ``done`` of its ``total`` chunks."""
    reporter.check_cancelled()
    reporter.progress(
        percentage=5 + 85 * (number + done / total) / count,
        current_step="predicting",
        items_done=done,
        items_total=total,
    )


def _check_enough_bars(traded: pd.DataFrame, symbol: str, span: Mapping[str, Any]) -> None:
    if len(traded) < MIN_BACKTEST_BARS:
        raise DataError(
            f"backtest range {span['start_date']}..{span['end_date']} of {symbol}: only "
            f"{len(traded)} bars have a prediction after the indicators' warm-up; need at least "
            f"{MIN_BACKTEST_BARS} — widen the range"
        )
