"""Chronological train/validation/test split with purging and an embargo.

Samples are the rows of the feature matrix that also have a label, in time order. A label that
looks into the next segment leaks that segment's prices into training, so such samples are
purged; the first ``embargo`` samples after each boundary are dropped too, because their
features overlap the previous segment's labels (serial correlation).
"""

from __future__ import annotations

import logging
import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from ktrdr.errors import ValidationError

logger = logging.getLogger(__name__)

SEGMENT_NAMES = ("train", "validation", "test")
DEFAULT_FRACTIONS = (0.7, 0.15, 0.15)
FRACTION_TOLERANCE = 1e-6
# Guards floor(n * fraction) against 0.29 * 100 = 28.999999999999996.
_BOUNDARY_EPSILON = 1e-9


@dataclass(frozen=True)
class SplitIndices:
    """Sample indices (int64, ascending) of each segment, and how many samples were dropped."""

    train: np.ndarray
    validation: np.ndarray
    test: np.ndarray
    purged: int
    embargoed: int


def chronological_split(
    n_samples: int,
    fractions: Sequence[float] = DEFAULT_FRACTIONS,
    horizon: np.ndarray | None = None,
    embargo: int = 0,
) -> SplitIndices:
    """Split samples 0..n-1 in time order into train, validation and test.

    Boundaries are floor(n * train) and floor(n * (train + validation)): 100 samples at
    0.7/0.15/0.15 give train 0..69, validation 70..84, test 85..99. ``horizon[i]`` is the index of
    the last *sample* whose data the label of sample i used;
    a sample whose horizon reaches the next segment's first index is purged. ``embargo`` samples
    at the start of validation and of test are dropped (counted as embargoed, not purged).
    """
    _check_count("n_samples", n_samples)
    _check_count("embargo", embargo)
    train_fraction, validation_fraction, _ = _check_fractions(fractions)
    first = _boundary(n_samples, train_fraction)
    second = _boundary(n_samples, train_fraction + validation_fraction)
    starts = (0, first, second)
    ends = (first, second, n_samples)
    index = np.arange(n_samples, dtype=np.int64)
    embargoed = np.zeros(n_samples, dtype=bool)
    for start, end in zip(starts[1:], ends[1:], strict=True):
        embargoed[start : min(start + embargo, end)] = True
    crossing = np.zeros(n_samples, dtype=bool)
    if horizon is not None:
        last = _check_horizon(horizon, n_samples)
        for start, end in zip(starts[:2], ends[:2], strict=True):
            crossing[start:end] = last[start:end] >= end
    purged = crossing & ~embargoed
    keep = ~(embargoed | purged)
    segments = [index[start:end][keep[start:end]] for start, end in zip(starts, ends, strict=True)]
    split = SplitIndices(*segments, purged=int(purged.sum()), embargoed=int(embargoed.sum()))
    _check_non_empty(split, n_samples, starts, ends)
    logger.debug(
        "split %d samples: train %d, validation %d, test %d (purged %d, embargoed %d)",
        n_samples,
        *(len(segment) for segment in segments),
        split.purged,
        split.embargoed,
    )
    return split


def _boundary(n_samples: int, fraction: float) -> int:
    return min(n_samples, math.floor(n_samples * fraction + _BOUNDARY_EPSILON))


def _check_count(name: str, value: object) -> None:
    integral = isinstance(value, int | np.integer) and not isinstance(value, bool | np.bool_)
    if not (integral and value >= 0):
        raise ValidationError(f"{name} must be an integer >= 0, got {value!r}")


def _check_fractions(fractions: Sequence[float]) -> tuple[float, float, float]:
    values = tuple(fractions)
    if len(values) != len(SEGMENT_NAMES):
        raise ValidationError(
            f"data_split needs 3 fractions (train, validation, test), got {len(values)}"
        )
    for name, value in zip(SEGMENT_NAMES, values, strict=True):
        if not (
            isinstance(value, int | float | np.integer | np.floating)
            and not isinstance(value, bool)
            and math.isfinite(value)
            and value > 0
        ):
            raise ValidationError(f"data_split.{name} must be a number > 0, got {value!r}")
    total = math.fsum(values)
    if abs(total - 1.0) > FRACTION_TOLERANCE:
        raise ValidationError(
            f"data_split fractions must sum to 1, got {total:.9g} "
            f"(train {values[0]}, validation {values[1]}, test {values[2]})"
        )
    return values


def _check_horizon(horizon: np.ndarray, n_samples: int) -> np.ndarray:
    last = np.asarray(horizon)
    if last.shape != (n_samples,) or not np.issubdtype(last.dtype, np.integer):
        raise ValidationError(
            f"horizon must be an integer array of length n_samples={n_samples}, "
            f"got shape {last.shape} dtype {last.dtype}"
        )
    before = np.flatnonzero(last < np.arange(n_samples))
    if before.size:
        i = int(before[0])
        raise ValidationError(
            f"horizon[{i}] = {int(last[i])} is before sample {i}; a label's horizon is the index "
            "of the last sample it used, never earlier than the sample itself"
        )
    return last


def _check_non_empty(
    split: SplitIndices, n_samples: int, starts: tuple[int, ...], ends: tuple[int, ...]
) -> None:
    for name, start, end in zip(SEGMENT_NAMES, starts, ends, strict=True):
        if len(getattr(split, name)) == 0:
            raise ValidationError(
                f"data_split: the {name} segment is empty after purging and embargo "
                f"({n_samples} samples; it held {end - start} before dropping; "
                f"purged {split.purged}, embargoed {split.embargoed} in total); "
                "use more data, a shorter label horizon or a smaller embargo"
            )
