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
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from ktrdr.execution import JobReporter
from ktrdr.execution.artifacts import ArtifactSink, artifact_sink
from ktrdr.features import chronological_split, plan_walk_forward, split_train_validation
from ktrdr.features.labels import LABEL_NAMES, label_distribution
from ktrdr.settings import get_settings
from ktrdr.strategy import MAX_SEED, strategy_to_dict
from ktrdr.strategy.schema import StrategyConfig
from ktrdr.training._summary import ensemble_training_metrics, mean_metrics
from ktrdr.training.bundle import save_bundle
from ktrdr.training.dataset import PreparedData, SampleSet, compute_samples, select_samples
from ktrdr.training.device import device_name, select_device
from ktrdr.training.ensemble import EnsembleOutcome, MemberData, train_ensemble
from ktrdr.training.evaluation import evaluate_probabilities, member_probabilities
from ktrdr.training.models import build_model
from ktrdr.training.trainer import EpochReport, TrainerConfig

logger = logging.getLogger(__name__)

EPOCHS_SHARE = 90.0  # percent of the progress bar spent in epochs; the rest is preparation
# Above this many bytes of padded training inputs, the trainings run one after another.
BATCHED_INPUT_BYTES = 512 * 2**20
FOLDS_DIR = "folds"


@dataclass(frozen=True)
class _Training:
    """One ensemble to train: a walk-forward fold (``fold`` >= 1) or the final model (None)."""

    fold: int | None
    selection: dict[str, np.ndarray]  # split -> grid indices of the SampleSet


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
    samples = compute_samples(strategy, request["bars"])
    trainings = plan_trainings(samples, strategy)
    prepared = [select_samples(samples, t.selection, what=_name(t)) for t in trainings]
    reporter.check_cancelled()

    device = select_device(settings.training_device)
    # Small models train fastest on few threads, and the workers share the machine's cores.
    torch.set_num_threads(max(1, (os.cpu_count() or 1) // settings.workers))
    seeds = member_seeds(seed, strategy.evaluation.seeds)
    logger.info(
        "operation %s: training %s (%d trainings x %d seeds) on %s samples on %s",
        operation_id, strategy.name, len(trainings), len(seeds), samples.n_samples,
        device_name(device),
    )  # fmt: skip
    outcomes = _train_all(strategy, prepared, seeds, seed, reporter, device)
    reporter.check_cancelled()
    reporter.progress(
        percentage=97,
        current_step="evaluating out of sample",
        context=_last_epoch(outcomes[-1]),
        force=True,
    )
    config = trainer_config(strategy, seed)
    folds = [
        _fold_result(samples, training, data, outcome, config, device)
        for training, data, outcome in zip(trainings, prepared, outcomes, strict=True)
        if training.fold is not None
    ]
    final, final_outcome = prepared[-1], outcomes[-1]
    if folds:
        test_metrics = mean_metrics([fold["test_metrics"] for fold in folds])
        scheme = strategy.evaluation.scheme
    else:
        test_metrics = _test_metrics(final, final_outcome, config, device)
        scheme = "single_split"
    walk_forward = {"scheme": scheme, "seeds": seeds, "folds": folds}
    sink = artifact_sink()
    bundle_args = (strategy, seeds, seed, request, sink)
    for fold, data, outcome in zip(folds, prepared, outcomes, strict=False):
        _save(outcome, data, *bundle_args, folder=f"{FOLDS_DIR}/{fold['fold']}", extra={
            "fold": fold["fold"],
            "training_range": {"start": fold["train_start"], "end": fold["train_end"]},
            "test_range": {"start": fold["test_start"], "end": fold["test_end"]},
        })  # fmt: skip
    model_path = _save(final_outcome, final, *bundle_args, folder="", extra={
        "training_range": _whole_range(final),
        "walk_forward": walk_forward,
        "evaluation": strategy.evaluation.model_dump(mode="json"),
    })  # fmt: skip
    return {
        "model_path": str(sink.published(model_path)),
        "training_metrics": ensemble_training_metrics(final_outcome.outcomes),
        "test_metrics": test_metrics,
        "label_distribution": _label_distribution(final, prepared[:-1]),
        "n_samples": _n_samples(final, prepared[:-1]),
        "feature_names": final.feature_names,
        "duration_seconds": round(time.monotonic() - started, 3),
        "device": device_name(device),
        "walk_forward": walk_forward,
    }


def plan_trainings(samples: SampleSet, strategy: StrategyConfig) -> list[_Training]:
    """The ensembles to train, the final model last: the folds' then the whole range's.

    ``folds: 0`` gives one training on ``training.data_split`` (its test split held out).
    """
    evaluation = strategy.evaluation
    split = strategy.training.data_split
    n, horizon, embargo = samples.n_samples, samples.grid_horizon, samples.embargo
    if not evaluation.walk_forward:
        indices = chronological_split(
            n, (split.train, split.validation, split.test), horizon, embargo=embargo
        )
        selection = {
            "train": indices.train,
            "validation": indices.validation,
            "test": indices.test,
        }
        return [_Training(fold=None, selection=selection)]
    validation_fraction = split.validation / (split.train + split.validation)
    plan = plan_walk_forward(
        n,
        folds=evaluation.folds,
        scheme=evaluation.scheme,
        min_train_fraction=evaluation.min_train_fraction,
        validation_fraction=validation_fraction,
        horizon=horizon,
        embargo=embargo,
    )
    trainings = [
        _Training(
            fold=fold.fold,
            selection={"train": fold.train, "validation": fold.validation, "test": fold.test},
        )
        for fold in plan.folds
    ]
    final = split_train_validation(
        0,
        n,
        validation_fraction=validation_fraction,
        horizon=horizon,
        embargo=embargo,
        data_after=False,
        what="final model",
    )
    trainings.append(
        _Training(fold=None, selection={"train": final.train, "validation": final.validation})
    )
    return trainings


def member_seeds(seed: int, members: int) -> list[int]:
    """The seeds of an ensemble's members: ``seed``, ``seed + 1``, ... (wrapping at MAX_SEED)."""
    return [(seed + i) % (MAX_SEED + 1) for i in range(members)]


def _name(training: _Training) -> str:
    return "final model" if training.fold is None else f"walk-forward fold {training.fold}"


def _train_all(
    strategy: StrategyConfig,
    prepared: list[PreparedData],
    seeds: list[int],
    seed: int,
    reporter: JobReporter,
    device: torch.device,
) -> list[EnsembleOutcome]:
    """Train every ensemble; all at once as one batched module unless that is too large."""
    data = [
        MemberData(
            p.inputs["train"], p.labels["train"], p.inputs["validation"], p.labels["validation"]
        )
        for p in prepared
    ]
    longest = max(len(d.x_train) + len(d.x_val) for d in data)
    row_bytes = data[0].x_train[0].size * 4
    together = len(data) * longest * row_bytes <= BATCHED_INPUT_BYTES
    chunks = [list(range(len(data)))] if together else [[g] for g in range(len(data))]
    config = trainer_config(strategy, seed)
    model_section = strategy.model.model_dump(exclude={"seed"})
    n_features = len(prepared[0].feature_names)
    outcomes: dict[int, EnsembleOutcome] = {}
    for position, groups in enumerate(chunks):
        members = [
            build_model(model_section, n_features, len(LABEL_NAMES), seed=s)
            for _ in groups
            for s in seeds
        ]
        outcome = train_ensemble(
            members,
            [data[g] for g in groups],
            config,
            seeds=seeds * len(groups),
            data_of_member=[i for i in range(len(groups)) for _ in seeds],
            on_epoch=lambda report, p=position: _report_epoch(
                reporter, report, p, len(chunks), len(data) * len(seeds)
            ),
            should_stop=reporter.cancelled,
            device=device,
        )
        reporter.check_cancelled()
        for i, g in enumerate(groups):
            picked = slice(i * len(seeds), (i + 1) * len(seeds))
            outcomes[g] = EnsembleOutcome(
                members=outcome.members[picked],
                outcomes=outcome.outcomes[picked],
                epochs_run=max(o.epochs_run for o in outcome.outcomes[picked]),
                stopped=outcome.stopped,
            )
    return [outcomes[g] for g in range(len(data))]


def _test_metrics(
    data: PreparedData, outcome: EnsembleOutcome, config: TrainerConfig, device: torch.device
) -> dict[str, Any]:
    # The test loss is plain cross-entropy (unweighted), comparable across label schemes.
    probabilities = member_probabilities(outcome.members, data.inputs["test"], device)
    metrics = evaluate_probabilities(
        probabilities.mean(axis=0),
        data.labels["test"],
        loss=config.loss,
        focal_gamma=config.focal_gamma,
    )
    metrics["member_accuracy"] = [
        float((member.argmax(axis=1) == data.labels["test"]).mean()) for member in probabilities
    ]
    return metrics


def _fold_result(
    samples: SampleSet,
    training: _Training,
    data: PreparedData,
    outcome: EnsembleOutcome,
    config: TrainerConfig,
    device: torch.device,
) -> dict[str, Any]:
    selection = training.selection
    trained = samples.span(np.concatenate([selection["train"], selection["validation"]]))
    tested = samples.span(selection["test"])
    return {
        "fold": training.fold,
        "train_start": trained["start"],
        "train_end": trained["end"],
        "test_start": tested["start"],
        "test_end": tested["end"],
        "test_metrics": _test_metrics(data, outcome, config, device),
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


def _report_epoch(
    reporter: JobReporter, report: EpochReport, chunk: int, chunks: int, networks: int
) -> None:
    done = (chunk + report.epoch / report.epochs) / chunks
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
