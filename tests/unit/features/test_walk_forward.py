"""Walk-forward fold planning: consecutive OOS slices, purge, embargo, anchored vs rolling."""

from __future__ import annotations

import numpy as np
import pytest

from ktrdr.errors import ValidationError
from ktrdr.features.walk_forward import plan_walk_forward, split_train_validation


def test_slices_are_equal_consecutive_and_cover_everything_after_the_initial_span():
    plan = plan_walk_forward(1000, folds=4, min_train_fraction=0.5)
    assert plan.initial == 500
    assert [f.test_span for f in plan.folds] == [(500, 625), (625, 750), (750, 875), (875, 1000)]
    assert np.array_equal(np.concatenate([f.test for f in plan.folds]), np.arange(500, 1000))
    assert [f.fold for f in plan.folds] == [1, 2, 3, 4]


def test_a_fold_trains_only_before_its_slice_and_never_overlaps_it():
    plan = plan_walk_forward(1000, folds=4, embargo=3, horizon=np.minimum(np.arange(1000) + 5, 999))
    for fold in plan.folds:
        used = np.concatenate([fold.train, fold.validation])
        assert used.max() < fold.test_span[0]
        assert not set(used) & set(fold.test)
        assert not set(fold.train) & set(fold.validation)
        assert fold.train.max() < fold.validation.min()


def test_anchored_grows_the_training_span_rolling_keeps_its_length():
    anchored = plan_walk_forward(1000, folds=4, scheme="anchored")
    rolling = plan_walk_forward(1000, folds=4, scheme="rolling")
    assert [f.train_span for f in anchored.folds] == [(0, 500), (0, 625), (0, 750), (0, 875)]
    assert [f.train_span for f in rolling.folds] == [(0, 500), (125, 625), (250, 750), (375, 875)]
    assert all(f.train.min() == f.train_span[0] for f in rolling.folds)


def test_labels_reaching_the_slice_are_purged_and_the_embargo_is_dropped():
    horizon = np.minimum(np.arange(1000) + 10, 999)  # every label looks 10 samples ahead
    fold = plan_walk_forward(1000, folds=4, horizon=horizon, embargo=4).folds[0]
    used = np.concatenate([fold.train, fold.validation])
    assert (horizon[used] < fold.test_span[0]).all()
    assert used.max() == 500 - 11  # 489 is the last whose label ends before 500
    # Train labels never reach validation; the embargo opens the validation part.
    assert (horizon[fold.train] < fold.validation.min()).all()
    assert fold.validation.min() - fold.train.max() > 4


def test_embargo_alone_leaves_a_gap_before_the_slice():
    fold = plan_walk_forward(1000, folds=4, embargo=7).folds[1]
    assert fold.validation.max() == 625 - 8


def test_train_validation_split_of_a_plain_span():
    split = split_train_validation(0, 100, validation_fraction=0.2)
    assert np.array_equal(split.train, np.arange(0, 80))
    assert np.array_equal(split.validation, np.arange(80, 100))


def test_too_little_data_names_the_numbers():
    with pytest.raises(
        ValidationError, match=r"200 samples leave 100 out-of-sample.*8 folds need at least 160"
    ):
        plan_walk_forward(200, folds=8, min_train_fraction=0.5)
    with pytest.raises(ValidationError, match=r"fold 1: the train part has \d+ samples"):
        plan_walk_forward(200, folds=2, min_train_fraction=0.3)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"folds": 0}, "folds must be an integer >= 1, got 0"),
        ({"folds": 2, "scheme": "expanding"}, "scheme must be one of"),
        ({"folds": 2, "min_train_fraction": 1.0}, "min_train_fraction must be a number between"),
        ({"folds": 2, "embargo": -1}, "embargo must be an integer >= 0, got -1"),
        ({"folds": 2, "horizon": np.zeros(5, dtype=np.int64)}, "horizon must be an integer array"),
    ],
)
def test_bad_arguments_are_named(kwargs, message):
    with pytest.raises(ValidationError, match=message):
        plan_walk_forward(1000, **kwargs)
