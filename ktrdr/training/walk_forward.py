"""Walk-forward training: every fold's ensemble and the final one, trained together (DESIGN §11).

Features and labels are computed once over the given bars; the strategy's ``evaluation``
section says which ensembles to train (the walk-forward folds and the final model on the whole
range, or the single train/validation/test split when ``folds`` is 0). Each is an ensemble of
``seeds`` networks; all of them train together as one batched module (``train_ensemble``).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from ktrdr.features import chronological_split, plan_walk_forward, split_train_validation
from ktrdr.features.labels import LABEL_NAMES
from ktrdr.strategy import MAX_SEED
from ktrdr.strategy.schema import StrategyConfig
from ktrdr.training._summary import mean_metrics
from ktrdr.training.dataset import PreparedData, SampleSet, compute_samples, select_samples
from ktrdr.training.ensemble import EnsembleOutcome, MemberData, train_ensemble
from ktrdr.training.evaluation import (
    evaluate_probabilities,
    member_probabilities,
    prior_log_loss,
)
from ktrdr.training.inputs import BarsBySymbol
from ktrdr.training.manifest import SINGLE_SPLIT
from ktrdr.training.models import build_model
from ktrdr.training.trainer import EpochReport, TrainerConfig

logger = logging.getLogger(__name__)

# Above this many bytes of padded training inputs, the ensembles train one after another.
BATCHED_INPUT_BYTES = 512 * 2**20

# (epoch report, share of all training done 0..1, networks in the training)
ProgressCallback = Callable[[EpochReport, float, int], None]


@dataclass(frozen=True)
class PlannedTraining:
    """One ensemble to train: a walk-forward fold (``fold`` >= 1) or the final model (None)."""

    fold: int | None
    selection: dict[str, np.ndarray]  # split -> grid indices of the SampleSet


@dataclass(frozen=True)
class WalkForwardResult:
    """Everything trained: per training (the final model last) its data and ensemble.

    ``folds`` are the summary's fold entries (``fold, train_start, train_end, test_start,
    test_end, test_metrics``); ``test_metrics`` is their mean, or the single split's.
    """

    samples: SampleSet
    trainings: list[PlannedTraining]
    prepared: list[PreparedData]
    outcomes: list[EnsembleOutcome]
    seeds: list[int]
    scheme: str
    folds: list[dict[str, Any]]
    test_metrics: dict[str, Any]

    @property
    def final(self) -> tuple[PreparedData, EnsembleOutcome]:
        """The final model's data and ensemble."""
        return self.prepared[-1], self.outcomes[-1]


def train_walk_forward(
    strategy: StrategyConfig,
    bars: BarsBySymbol,
    *,
    seed: int,
    device: torch.device,
    on_progress: ProgressCallback | None = None,
    should_stop: Callable[[], bool] | None = None,
    audit: bool = True,
) -> WalkForwardResult | None:
    """Train and evaluate the strategy's folds and final ensemble; None if ``should_stop`` fired.

    Member seeds are ``seed, seed + 1, ...``; the folds' ensembles are evaluated on their OOS
    slices by the mean of their members' probabilities.
    """
    samples = compute_samples(strategy, bars, audit=audit)
    trainings = plan_trainings(samples, strategy)
    prepared = [select_samples(samples, t.selection, what=_name(t)) for t in trainings]
    seeds = member_seeds(seed, strategy.evaluation.seeds)
    logger.info(
        "training %s: %d ensembles x %d seeds on %d samples",
        strategy.name, len(trainings), len(seeds), samples.n_samples,
    )  # fmt: skip
    config = trainer_config(strategy, seed)
    outcomes = _train_all(strategy, prepared, seeds, config, device, on_progress, should_stop)
    if outcomes is None:
        return None
    folds = [
        _fold_result(samples, training, data, outcome, config, device)
        for training, data, outcome in zip(trainings, prepared, outcomes, strict=True)
        if training.fold is not None
    ]
    if folds:
        test_metrics = mean_metrics([fold["test_metrics"] for fold in folds])
        scheme = strategy.evaluation.scheme
    else:
        test_metrics = _test_metrics(prepared[-1], outcomes[-1], config, device)
        scheme = SINGLE_SPLIT
    return WalkForwardResult(
        samples, trainings, prepared, outcomes, seeds, scheme, folds, test_metrics
    )


def plan_trainings(samples: SampleSet, strategy: StrategyConfig) -> list[PlannedTraining]:
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
        return [PlannedTraining(fold=None, selection=selection)]
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
        PlannedTraining(
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
        PlannedTraining(fold=None, selection={"train": final.train, "validation": final.validation})
    )
    return trainings


def member_seeds(seed: int, members: int) -> list[int]:
    """The seeds of an ensemble's members: ``seed``, ``seed + 1``, ... (wrapping at MAX_SEED)."""
    return [(seed + i) % (MAX_SEED + 1) for i in range(members)]


def _name(training: PlannedTraining) -> str:
    return "final model" if training.fold is None else f"walk-forward fold {training.fold}"


def _train_all(
    strategy: StrategyConfig,
    prepared: list[PreparedData],
    seeds: list[int],
    config: TrainerConfig,
    device: torch.device,
    on_progress: ProgressCallback | None,
    should_stop: Callable[[], bool] | None,
) -> list[EnsembleOutcome] | None:
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
            on_epoch=None
            if on_progress is None
            else lambda report, p=position: on_progress(
                report, (p + report.epoch / report.epochs) / len(chunks), len(data) * len(seeds)
            ),
            should_stop=should_stop,
            device=device,
        )
        if outcome.stopped:
            return None
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
    # The test loss is plain cross-entropy whatever the training loss (focal, class weights),
    # so the gate's max-loss means the same for every strategy (DESIGN §8).
    probabilities = member_probabilities(outcome.members, data.inputs["test"], device)
    metrics = evaluate_probabilities(probabilities.mean(axis=0), data.labels["test"])
    # The training gate's baseline: what predicting this model's training class frequencies costs.
    metrics["prior_log_loss"] = prior_log_loss(data.labels["train"], data.labels["test"])
    metrics["member_accuracy"] = [
        float((member.argmax(axis=1) == data.labels["test"]).mean()) for member in probabilities
    ]
    return metrics


def training_spans(
    samples: SampleSet, training: PlannedTraining
) -> tuple[dict[str, str], dict[str, str] | None]:
    """The first and last sample an ensemble trained on (train + validation) and tested on."""
    selection = training.selection
    trained = samples.span(np.concatenate([selection["train"], selection["validation"]]))
    tested = samples.span(selection["test"]) if "test" in selection else None
    return trained, tested


def _fold_result(
    samples: SampleSet,
    training: PlannedTraining,
    data: PreparedData,
    outcome: EnsembleOutcome,
    config: TrainerConfig,
    device: torch.device,
) -> dict[str, Any]:
    trained, tested = training_spans(samples, training)
    assert tested is not None  # a fold always has its out-of-sample slice
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
