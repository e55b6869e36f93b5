"""The training job: runs in a worker process as ``run_training_job(operation_id, request)``."""

from __future__ import annotations

import logging
import os
import time
from pathlib import Path
from typing import Any

import torch
from torch import nn

from ktrdr.execution import JobReporter
from ktrdr.execution.artifacts import artifact_sink
from ktrdr.features.labels import LABEL_NAMES
from ktrdr.settings import get_settings
from ktrdr.strategy import strategy_to_dict
from ktrdr.strategy.schema import StrategyConfig
from ktrdr.training.bundle import save_bundle
from ktrdr.training.dataset import BarsBySymbol, PreparedData, prepare_training_data
from ktrdr.training.device import device_name, select_device
from ktrdr.training.evaluation import evaluate
from ktrdr.training.models import build_model
from ktrdr.training.trainer import EpochReport, TrainerConfig, TrainingOutcome, train_model

logger = logging.getLogger(__name__)

EPOCHS_SHARE = 90.0  # percent of the progress bar spent in epochs; the rest is preparation


def run_training_job(operation_id: str, request: dict[str, Any]) -> dict[str, Any]:
    """Train the strategy in ``request`` and save its bundle; return the DESIGN §8 summary.

    The request carries the bars (``load_bars``, loaded by the service) and the bundle folder
    reserved for the model (``model_dir``, relative to KTRDR_HOME), so the job needs no disk but
    the artifact sink it writes the bundle into.
    """
    started = time.monotonic()
    reporter = JobReporter(operation_id)
    strategy: StrategyConfig = request["strategy"]  # validated by TrainingService; pickled here
    seed = int(request["seed"])
    settings = get_settings()

    bars: BarsBySymbol = request["bars"]
    reporter.progress(percentage=3, current_step="features, labels and look-ahead audit")
    prepared = prepare_training_data(strategy, bars)
    reporter.check_cancelled()

    device = select_device(settings.training_device)
    # Small models train fastest on few threads, and the workers share the machine's cores.
    torch.set_num_threads(max(1, (os.cpu_count() or 1) // settings.workers))
    model = build_model(
        strategy.model.model_dump(exclude={"seed"}),
        len(prepared.feature_names),
        len(LABEL_NAMES),
        seed=seed,
    )
    config = trainer_config(strategy, seed)
    logger.info(
        "operation %s: training %s on %s samples on %s",
        operation_id,
        strategy.name,
        prepared.n_samples,
        device_name(device),
    )
    outcome = train_model(
        model,
        prepared.inputs["train"],
        prepared.labels["train"],
        prepared.inputs["validation"],
        prepared.labels["validation"],
        config,
        on_epoch=lambda report: _report_epoch(reporter, report),
        should_stop=reporter.cancelled,
        device=device,
    )
    reporter.check_cancelled()
    reporter.progress(
        percentage=97,
        current_step="evaluating on the test split",
        context=_last_epoch(outcome),
        force=True,
    )
    # The test loss is plain cross-entropy (unweighted), comparable across label schemes.
    test_metrics = evaluate(
        model, prepared.inputs["test"], prepared.labels["test"], loss=config.loss, device=device
    )
    sink = artifact_sink()
    model_path = _save(model, strategy, prepared, seed, request, sink.path(request["model_dir"]))
    return {
        "model_path": str(sink.published(model_path)),
        "training_metrics": _training_metrics(outcome),
        "test_metrics": test_metrics,
        "label_distribution": prepared.label_distribution(),
        "n_samples": prepared.n_samples,
        "feature_names": prepared.feature_names,
        "duration_seconds": round(time.monotonic() - started, 3),
        "device": device_name(device),
    }


def trainer_config(strategy: StrategyConfig, seed: int) -> TrainerConfig:
    """The trainer settings a strategy's ``training`` section asks for."""
    training = strategy.training
    return TrainerConfig(
        epochs=training.epochs,
        learning_rate=training.learning_rate,
        batch_size=training.batch_size,
        patience=training.early_stopping.patience,
        min_delta=training.early_stopping.min_delta,
        loss=training.loss,
        lr_schedule=training.lr_schedule,
        seed=seed,
    )


def _report_epoch(reporter: JobReporter, report: EpochReport) -> None:
    reporter.progress(
        percentage=5 + EPOCHS_SHARE * report.epoch / report.epochs,
        current_step=f"epoch {report.epoch}/{report.epochs}",
        items_done=report.epoch,
        items_total=report.epochs,
        context={
            "epoch": report.epoch,
            "train_loss": round(report.train_loss, 6),
            "val_loss": round(report.val_loss, 6),
            "val_accuracy": round(report.val_accuracy, 6),
        },
    )


def _last_epoch(outcome: TrainingOutcome) -> dict[str, Any]:
    history = outcome.history
    return {
        "epoch": outcome.epochs_run,
        "train_loss": round(history["train_loss"][-1], 6),
        "val_loss": round(history["val_loss"][-1], 6),
        "val_accuracy": round(history["val_accuracy"][-1], 6),
    }


def _training_metrics(outcome: TrainingOutcome) -> dict[str, Any]:
    return {
        "epochs_run": outcome.epochs_run,
        "history": outcome.history,
        "final_train_loss": outcome.final_train_loss,
        "best_epoch": outcome.best_epoch,
    }


def _save(
    model: nn.Module,
    strategy: StrategyConfig,
    prepared: PreparedData,
    seed: int,
    request: dict[str, Any],
    directory: Path,
) -> Path:
    starts = [r["start"] for r in prepared.data_range.values()]
    ends = [r["end"] for r in prepared.data_range.values()]
    return save_bundle(
        directory,
        model,
        model_section=strategy.model.model_dump(exclude={"seed"}),
        n_features=len(prepared.feature_names),
        metadata={
            "strategy": strategy_to_dict(strategy),
            "feature_names": prepared.feature_names,
            "normalization": prepared.normalization,
            "label_mapping": dict(enumerate(LABEL_NAMES)),
            "symbols": list(request["symbols"]),
            "timeframes": list(request["timeframes"]),
            "training_range": {"start": min(starts), "end": max(ends)},
            "data_range": prepared.data_range,
            "seed": seed,
        },
    )
