"""Walk-forward folds over time-ordered samples, with purging and an embargo (DESIGN §11).

The samples 0..n-1 are split into an initial training span of ``floor(n * min_train_fraction)``
samples and ``folds`` equal, consecutive out-of-sample (OOS) slices after it. Fold k (1-based)
tests on slice k and trains on what precedes it: everything (``anchored``) or the last
``initial`` samples (``rolling``). Training samples whose label horizon reaches the slice are
purged and the ``embargo`` samples just before the slice are dropped; what is left is split in
time order into train and validation (for early stopping), purged and embargoed the same way.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from ktrdr.errors import ValidationError

SCHEMES = ("anchored", "rolling")
# Fewest samples a model may train, validate and test on; a test slice of 20 samples spans at
# least the 20 bars a backtest needs to trade (backtesting.inputs.MIN_BACKTEST_BARS).
MIN_FOLD_SAMPLES = {"train": 60, "validation": 15, "test": 20}
_BOUNDARY_EPSILON = 1e-9


@dataclass(frozen=True)
class TrainValidation:
    """Sample indices (int64, ascending) to train on and to early-stop on."""

    train: np.ndarray
    validation: np.ndarray


@dataclass(frozen=True)
class Fold:
    """One walk-forward fold: 1-based ``fold``, its training span and its OOS slice.

    ``train_span`` and ``test_span`` are half-open sample ranges ``(start, end)``; ``train`` and
    ``validation`` are the indices actually used inside ``train_span`` after purge and embargo,
    ``test`` the OOS indices (the whole slice).
    """

    fold: int
    train_span: tuple[int, int]
    test_span: tuple[int, int]
    train: np.ndarray
    validation: np.ndarray
    test: np.ndarray


@dataclass(frozen=True)
class WalkForwardPlan:
    """The folds of a walk-forward evaluation and the initial training span ``(0, initial)``."""

    scheme: str
    initial: int
    folds: tuple[Fold, ...]


def plan_walk_forward(
    n_samples: int,
    *,
    folds: int,
    scheme: str = "anchored",
    min_train_fraction: float = 0.5,
    validation_fraction: float = 0.15 / 0.85,
    horizon: np.ndarray | None = None,
    embargo: int = 0,
) -> WalkForwardPlan:
    """Plan ``folds`` walk-forward folds over samples 0..n-1 (see the module docstring).

    ``horizon[i]`` is the last sample index the label of sample i used (e.g. the training data's
    ``SampleSet.grid_horizon``); ``validation_fraction`` is the share of each fold's training
    span kept for early stopping. 1,000 samples, 4 folds, min_train_fraction 0.5 give an initial
    span 0..499 and OOS slices 500..624, 625..749, 750..874, 875..999. Raises ValidationError
    naming the numbers when a fold would train, validate or test on too few samples.
    """
    _check_int("n_samples", n_samples, 1)
    _check_int("folds", folds, 1)
    _check_int("embargo", embargo, 0)
    if scheme not in SCHEMES:
        raise ValidationError(f"scheme must be one of {SCHEMES}, got {scheme!r}")
    _check_fraction("min_train_fraction", min_train_fraction)
    _check_fraction("validation_fraction", validation_fraction)
    last = _horizon(horizon, n_samples)
    initial = _boundary(n_samples, min_train_fraction)
    oos = n_samples - initial
    if oos < folds * MIN_FOLD_SAMPLES["test"]:
        raise ValidationError(
            f"walk-forward: {n_samples} samples leave {oos} out-of-sample after the initial "
            f"{initial} (min_train_fraction {min_train_fraction}); {folds} folds need at least "
            f"{folds * MIN_FOLD_SAMPLES['test']} ({MIN_FOLD_SAMPLES['test']} per fold) — use more "
            "data, fewer folds or a smaller min_train_fraction"
        )
    bounds = [initial + (oos * k) // folds for k in range(folds + 1)]
    planned = []
    for k in range(folds):
        test_start, test_end = bounds[k], bounds[k + 1]
        span_start = 0 if scheme == "anchored" else test_start - initial
        inner = split_train_validation(
            span_start,
            test_start,
            validation_fraction=validation_fraction,
            horizon=last,
            embargo=embargo,
            what=f"walk-forward fold {k + 1}",
        )
        planned.append(
            Fold(
                fold=k + 1,
                train_span=(span_start, test_start),
                test_span=(test_start, test_end),
                train=inner.train,
                validation=inner.validation,
                test=np.arange(test_start, test_end, dtype=np.int64),
            )
        )
    return WalkForwardPlan(scheme=scheme, initial=initial, folds=tuple(planned))


def split_train_validation(
    start: int,
    end: int,
    *,
    validation_fraction: float,
    horizon: np.ndarray | None = None,
    embargo: int = 0,
    data_after: bool = True,
    what: str = "training span",
) -> TrainValidation:
    """Split samples start..end-1 in time order into train and validation, purged and embargoed.

    When ``data_after`` (samples from ``end`` on are tested), the ``embargo`` samples before
    ``end`` are dropped, and so is every sample whose horizon reaches ``end``. The rest splits at
    ``floor(kept * (1 - validation_fraction))``: train samples whose horizon reaches validation
    are purged, and the first ``embargo`` validation samples dropped. E.g. 0..99, fraction 0.2,
    embargo 0 and no horizons: train 0..79, validation 80..99.
    """
    _check_fraction("validation_fraction", validation_fraction)
    usable_end = max(start, end - embargo) if data_after else end
    index = np.arange(start, usable_end, dtype=np.int64)
    if horizon is not None and data_after:
        index = index[horizon[start:usable_end] < end]
    boundary_position = _boundary(len(index), 1.0 - validation_fraction)
    train = index[:boundary_position]
    validation = index[boundary_position:]
    if len(validation):
        first_validation = int(validation[0])
        validation = validation[validation >= first_validation + embargo]
        if horizon is not None:
            train = train[horizon[train] < first_validation]
    for name, chosen in (("train", train), ("validation", validation)):
        if len(chosen) < MIN_FOLD_SAMPLES[name]:
            raise ValidationError(
                f"{what}: the {name} part has {len(chosen)} samples after purge and embargo "
                f"(span {start}..{end - 1}, {end - start} samples, embargo {embargo}); need at "
                f"least {MIN_FOLD_SAMPLES[name]} — use more data, fewer folds or a larger "
                "min_train_fraction"
            )
    return TrainValidation(train=train, validation=validation)


def _boundary(n: int, fraction: float) -> int:
    return min(n, math.floor(n * fraction + _BOUNDARY_EPSILON))


def _check_int(name: str, value: object, low: int) -> None:
    integral = isinstance(value, int | np.integer) and not isinstance(value, bool | np.bool_)
    if not (integral and value >= low):
        raise ValidationError(f"{name} must be an integer >= {low}, got {value!r}")


def _check_fraction(name: str, value: object) -> None:
    number = isinstance(value, int | float | np.floating) and not isinstance(value, bool)
    if not (number and 0.0 < float(value) < 1.0):
        raise ValidationError(f"{name} must be a number between 0 and 1 (exclusive), got {value!r}")


def _horizon(horizon: np.ndarray | None, n_samples: int) -> np.ndarray | None:
    if horizon is None:
        return None
    last = np.asarray(horizon)
    if last.shape != (n_samples,) or not np.issubdtype(last.dtype, np.integer):
        raise ValidationError(
            f"horizon must be an integer array of length n_samples={n_samples}, "
            f"got shape {last.shape} dtype {last.dtype}"
        )
    if (last < np.arange(n_samples)).any():
        i = int(np.flatnonzero(last < np.arange(n_samples))[0])
        raise ValidationError(f"horizon[{i}] = {int(last[i])} is before sample {i}")
    return last.astype(np.int64)
