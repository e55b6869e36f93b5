"""The training job: runs in a worker process as ``run_training_job(operation_id, request)``.

Features and labels are computed once over the given bars; then, per the strategy's
``evaluation`` section, either the single train/validation/test split (``folds: 0``) or the
walk-forward folds plus the final model on the whole range are trained, each as an ensemble of
``seeds`` networks, all together as one batched module (DESIGN §11).
"""

from __future__ import annotations

import logging
import os
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch

from ktrdr.execution import JobCancelled, JobReporter
from ktrdr.execution.artifacts import ArtifactSink, artifact_sink
from ktrdr.features.labels import LABEL_NAMES, label_distribution
from ktrdr.files import write_atomically
from ktrdr.settings import get_settings
from ktrdr.strategy import strategy_to_dict
from ktrdr.strategy.schema import StrategyConfig
from ktrdr.training._summary import ensemble_training_metrics, history_frame
from ktrdr.training.bundle import save_bundle
from ktrdr.training.dataset import PreparedData
from ktrdr.training.device import device_name, select_device
from ktrdr.training.ensemble import EnsembleOutcome
from ktrdr.training.manifest import FOLDS_DIR
from ktrdr.training.trainer import EpochReport
from ktrdr.training.walk_forward import train_walk_forward, training_spans

logger = logging.getLogger(__name__)

EPOCHS_SHARE = 90.0  # percent of the progress bar spent in epochs; the rest is preparation
HISTORY_FILE = "history.parquet"


def run_training_job(operation_id: str, request: dict[str, Any]) -> dict[str, Any]:
    """Train the strategy in ``request``, save its bundles; return the DESIGN §8/§11 summary.

    The request carries the bars (``load_bars``, loaded by the service) and the bundle folder
    reserved for the model (``model_dir``, relative to KTRDR_HOME), so the job needs no disk but
    the artifact sink it writes the bundles into: the final model at ``model_dir``, fold k's at
    ``model_dir/folds/<k>``.
    """
    started = time.monotonic()
    reporter = JobReporter(operation_id)
    strategy: StrategyConfig = request["strategy"]  # validated by TrainingService; pickled here
    seed = int(request["seed"])
    settings = get_settings()
    reporter.progress(percentage=3, current_step="features, labels and look-ahead audit")
    device = select_device(settings.training_device)
    # Small models train fastest on few threads, and the workers share the machine's cores.
    torch.set_num_threads(max(1, (os.cpu_count() or 1) // settings.workers))
    logger.info("operation %s: training %s on %s", operation_id, strategy.name, device_name(device))
    result = train_walk_forward(
        strategy,
        request["bars"],
        seed=seed,
        device=device,
        on_progress=lambda report, done, networks: _report_epoch(reporter, report, done, networks),
        should_stop=reporter.cancelled,
    )
    reporter.check_cancelled()
    if result is None:
        raise JobCancelled(operation_id)
    final, final_outcome = result.final
    reporter.progress(
        percentage=97,
        current_step="saving the bundles",
        context=_last_epoch(final_outcome),
        force=True,
    )
    folds, seeds, prepared, outcomes = result.folds, result.seeds, result.prepared, result.outcomes
    walk_forward = {"scheme": result.scheme, "seeds": seeds, "folds": folds}
    sink = artifact_sink()
    bundle_args = (strategy, seeds, seed, request, sink)
    # The final model comes last in ``prepared`` and ``outcomes``; the folds precede it.
    for fold, data, outcome in zip(folds, prepared[:-1], outcomes[:-1], strict=True):
        trained = {"start": fold["train_start"], "end": fold["train_end"]}
        _save(outcome, data, *bundle_args, folder=f"{FOLDS_DIR}/{fold['fold']}", extra={
            "fold": fold["fold"],
            "training_range": trained,
            # Folds share one time grid: every symbol trained over the fold's span, no later.
            "data_range": {symbol: trained for symbol in request["symbols"]},
            "test_range": {"start": fold["test_start"], "end": fold["test_end"]},
        })  # fmt: skip
    final_extra = {
        "training_range": _whole_range(final),
        "walk_forward": walk_forward,
        "evaluation": strategy.evaluation.model_dump(mode="json"),
    }
    if not folds:
        # A single split never trained on its test split: that is what its backtest trades.
        trained, tested = training_spans(result.samples, result.trainings[-1])
        final_extra.update(
            training_range=trained,
            data_range={symbol: trained for symbol in request["symbols"]},
            test_range=tested,
        )
    model_path = _save(final_outcome, final, *bundle_args, folder="", extra=final_extra)
    history = _save_history(sink, operation_id, folds, outcomes)
    reporter.done(_done_step(folds, seeds, final_outcome))
    return {
        "model_path": str(sink.published(model_path)),
        "training_metrics": ensemble_training_metrics(final_outcome.outcomes),
        "test_metrics": result.test_metrics,
        "label_distribution": _label_distribution(final, prepared[:-1]),
        "n_samples": _n_samples(final, prepared[:-1]),
        "feature_names": final.feature_names,
        "duration_seconds": round(time.monotonic() - started, 3),
        "device": device_name(device),
        "walk_forward": walk_forward,
        "artifacts": {"history": str(sink.published(history))},
    }


def _save_history(
    sink: ArtifactSink,
    operation_id: str,
    folds: list[dict[str, Any]],
    outcomes: list[EnsembleOutcome],
) -> Path:
    """Write every model's per-epoch history to ``training/<op_id>/history.parquet``."""
    names = [f"fold {fold['fold']}" for fold in folds] + ["final"]
    frame = history_frame([(n, o.outcomes) for n, o in zip(names, outcomes, strict=True)])
    return write_atomically(sink.path("training", operation_id, HISTORY_FILE), frame.to_parquet)


def _done_step(folds: list[dict[str, Any]], seeds: list[int], final: EnsembleOutcome) -> str:
    """What the job did, e.g. "trained 4 folds + final model × 3 seeds (41 epochs)"."""
    epochs = max(outcome.epochs_run for outcome in final.outcomes)
    what = f"{len(folds)} folds + final model" if folds else "1 model"
    plural = "" if len(seeds) == 1 else "s"
    return f"trained {what} × {len(seeds)} seed{plural} ({epochs} epochs)"


def _report_epoch(reporter: JobReporter, report: EpochReport, done: float, networks: int) -> None:
    reporter.progress(
        percentage=5 + EPOCHS_SHARE * done,
        current_step=f"epoch {report.epoch}/{report.epochs} ({networks} networks)",
        items_done=report.epoch,
        items_total=report.epochs,
        context={
            "epoch": report.epoch,
            "train_loss": round(report.train_loss, 6),
            "val_loss": round(report.val_loss, 6),
            "val_accuracy": round(report.val_accuracy, 6),
        },
    )


def _last_epoch(outcome: EnsembleOutcome) -> dict[str, Any]:
    metrics = ensemble_training_metrics(outcome.outcomes)
    history = metrics["history"]
    return {
        "epoch": metrics["epochs_run"],
        "train_loss": round(history["train_loss"][-1], 6),
        "val_loss": round(history["val_loss"][-1], 6),
        "val_accuracy": round(history["val_accuracy"][-1], 6),
    }


def _whole_range(prepared: PreparedData) -> dict[str, str]:
    starts = [r["start"] for r in prepared.data_range.values()]
    ends = [r["end"] for r in prepared.data_range.values()]
    return {"start": min(starts), "end": max(ends)}


def _label_distribution(
    final: PreparedData, folds: list[PreparedData]
) -> dict[str, dict[str, int]]:
    """The final model's train/val classes; test: the held-out split or all OOS slices."""
    distribution = final.label_distribution()
    if folds:
        distribution["test"] = label_distribution(
            np.concatenate([fold.labels["test"] for fold in folds])
        )
    return distribution


def _n_samples(final: PreparedData, folds: list[PreparedData]) -> dict[str, int]:
    counts = final.n_samples
    if folds:
        counts["test"] = sum(len(fold.labels["test"]) for fold in folds)
    return counts


def _save(
    outcome: EnsembleOutcome,
    prepared: PreparedData,
    strategy: StrategyConfig,
    seeds: list[int],
    seed: int,
    request: dict[str, Any],
    sink: ArtifactSink,
    *,
    folder: str,
    extra: dict[str, Any],
) -> Path:
    directory = (
        sink.path(request["model_dir"], folder) if folder else sink.path(request["model_dir"])
    )
    return save_bundle(
        directory,
        outcome.members,
        seeds=seeds,
        model_section=strategy.model.model_dump(exclude={"seed"}),
        n_features=len(prepared.feature_names),
        metadata={
            "strategy": strategy_to_dict(strategy),
            "feature_names": prepared.feature_names,
            "normalization": prepared.normalization,
            "label_mapping": dict(enumerate(LABEL_NAMES)),
            "symbols": list(request["symbols"]),
            "timeframes": list(request["timeframes"]),
            "data_range": prepared.data_range,
            "seed": seed,
            **extra,
        },
    )
