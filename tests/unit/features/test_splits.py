"""Chronological split: boundaries, purging exactly the crossing labels, embargo, errors."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from ktrdr.errors import ValidationError
from ktrdr.features.labels import forward_return_labels
from ktrdr.features.splits import SplitIndices, chronological_split


def sizes(split: SplitIndices) -> tuple[int, int, int]:
    return len(split.train), len(split.validation), len(split.test)


@pytest.mark.parametrize(
    ("n_samples", "fractions", "expected"),
    [
        (100, (0.7, 0.15, 0.15), (70, 15, 15)),
        (10, (0.5, 0.25, 0.25), (5, 2, 3)),
        (100, (0.29, 0.31, 0.4), (29, 31, 40)),  # 0.29 * 100 = 28.999999999999996 in floats
        (7, (1 / 3, 1 / 3, 1 / 3), (2, 2, 3)),
    ],
)
def test_boundaries_without_horizon_cover_every_sample(n_samples, fractions, expected) -> None:
    split = chronological_split(n_samples, fractions)
    assert sizes(split) == expected
    joined = np.concatenate([split.train, split.validation, split.test])
    np.testing.assert_array_equal(joined, np.arange(n_samples))
    assert all(part.dtype == np.int64 for part in (split.train, split.validation, split.test))
    assert (split.purged, split.embargoed) == (0, 0)


def test_purges_exactly_the_samples_whose_horizon_crosses() -> None:
    # Boundaries 10 and 15; labels look 2 ahead: train 8, 9 reach 10+, validation 13, 14 reach 15+.
    horizon = np.minimum(np.arange(20) + 2, 19)
    split = chronological_split(20, (0.5, 0.25, 0.25), horizon)
    np.testing.assert_array_equal(split.train, np.arange(8))
    np.testing.assert_array_equal(split.validation, [10, 11, 12])
    np.testing.assert_array_equal(split.test, np.arange(15, 20))
    assert (split.purged, split.embargoed) == (4, 0)


def test_purge_follows_each_sample_own_horizon() -> None:
    horizon = np.arange(10, dtype=np.int64)
    horizon[[1, 4]] = [5, 4]  # sample 1 reaches validation (starts at 5); 4 stays inside train
    horizon[6] = 9  # validation 5..7 ends at 8: sample 6 reaches test
    split = chronological_split(10, (0.5, 0.3, 0.2), horizon)
    np.testing.assert_array_equal(split.train, [0, 2, 3, 4])
    np.testing.assert_array_equal(split.validation, [5, 7])
    np.testing.assert_array_equal(split.test, [8, 9])
    assert split.purged == 2


def test_embargo_drops_the_first_samples_of_validation_and_test() -> None:
    split = chronological_split(20, (0.5, 0.25, 0.25), embargo=2)
    np.testing.assert_array_equal(split.train, np.arange(10))
    np.testing.assert_array_equal(split.validation, [12, 13, 14])
    np.testing.assert_array_equal(split.test, [17, 18, 19])
    assert (split.purged, split.embargoed) == (0, 4)


def test_a_sample_both_embargoed_and_crossing_counts_as_embargoed() -> None:
    horizon = np.arange(20, dtype=np.int64)
    horizon[10] = 15  # first validation sample, embargoed anyway
    horizon[9] = 10
    split = chronological_split(20, (0.5, 0.25, 0.25), horizon, embargo=1)
    np.testing.assert_array_equal(split.train, np.arange(9))
    np.testing.assert_array_equal(split.validation, [11, 12, 13, 14])
    np.testing.assert_array_equal(split.test, [16, 17, 18, 19])
    assert (split.purged, split.embargoed) == (1, 2)


@pytest.mark.parametrize(
    ("n_samples", "fractions", "horizon", "embargo", "segment"),
    [
        (3, (0.7, 0.15, 0.15), None, 0, "validation"),  # floor(2.1) = floor(2.55) = 2
        (0, (0.7, 0.15, 0.15), None, 0, "train"),
        (20, (0.5, 0.25, 0.25), np.full(20, 19), 0, "train"),  # every train label reaches test
        (20, (0.5, 0.25, 0.25), None, 5, "validation"),  # its 5 samples are all embargoed
    ],
)
def test_empty_segment_is_an_error_naming_it(
    n_samples, fractions, horizon, embargo, segment
) -> None:
    with pytest.raises(ValidationError, match=f"the {segment} segment is empty") as caught:
        chronological_split(n_samples, fractions, horizon, embargo)
    assert f"{n_samples} samples" in str(caught.value)


@pytest.mark.parametrize(
    ("fractions", "message"),
    [
        ((0.7, 0.2, 0.2), "sum to 1"),
        ((0.7, 0.3, 0.0), "data_split.test must be a number > 0"),
        ((1.2, -0.1, -0.1), "data_split.validation must be a number > 0"),
        ((0.5, 0.5), "needs 3 fractions"),
        ((0.7, float("nan"), 0.15), "data_split.validation"),
    ],
)
def test_bad_fractions_are_rejected(fractions, message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        chronological_split(100, fractions)


def test_fractions_within_tolerance_are_accepted() -> None:
    assert sizes(chronological_split(100, (0.7, 0.15, 0.1500004))) == (70, 15, 15)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"horizon": np.arange(5)}, "length n_samples=10"),
        ({"horizon": np.arange(10, dtype=np.float64)}, "integer array"),
        ({"horizon": np.array([0, 1, 2, 3, 3, 5, 6, 7, 8, 9])}, r"horizon\[4\] = 3 is before"),
        ({"embargo": -1}, "embargo must be an integer >= 0"),
    ],
)
def test_bad_horizon_or_embargo_is_rejected(kwargs: dict, message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        chronological_split(10, (0.5, 0.25, 0.25), **kwargs)


@pytest.mark.parametrize("n_samples", [-1, 10.0, True])
def test_bad_sample_count_is_rejected(n_samples) -> None:
    with pytest.raises(ValidationError, match="n_samples"):
        chronological_split(n_samples)


def test_no_train_or_validation_label_sees_the_next_segment_bars() -> None:
    rng = np.random.default_rng(3)
    close = 100.0 * np.exp(np.cumsum(rng.normal(0.0, 0.003, 500)))
    index = pd.date_range("2024-01-01", periods=500, freq="1h", tz="UTC", name="timestamp")
    bars = pd.DataFrame(
        {"open": close, "high": close, "low": close, "close": close, "volume": 1.0}, index=index
    )
    labels = forward_return_labels(bars, 12, threshold=0.001)
    # Samples: bars past a 30-bar feature warm-up that have a label, minus a few gaps.
    sample_bars = np.flatnonzero(labels.defined & (np.arange(500) >= 30))
    sample_bars = np.setdiff1d(sample_bars, [200, 201, 333])
    # Each label's horizon as the last sample at or before the last bar it looked at.
    horizon = np.searchsorted(sample_bars, labels.horizon[sample_bars], side="right") - 1
    split = chronological_split(
        len(sample_bars),
        horizon=horizon.astype(np.int64),
        embargo=labels.max_lookahead,
    )
    for part, following in ((split.train, split.validation), (split.validation, split.test)):
        assert labels.horizon[sample_bars[part]].max() < sample_bars[following].min()
    assert split.purged == 24
    assert split.embargoed == 24
