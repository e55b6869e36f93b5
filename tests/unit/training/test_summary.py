"""The training summary's ensemble metrics and fold means."""

from __future__ import annotations

import pytest

from ktrdr.training._summary import ensemble_training_metrics, mean_metrics
from ktrdr.training.ensemble import MemberOutcome


def test_fold_mean_covers_every_numeric_key_nested_ones_too():
    folds = [
        {
            "test_accuracy": 0.5,
            "per_class": {"buy": {"f1": 0.2, "support": 10}},
            "member_accuracy": [0.4],
        },
        {
            "test_accuracy": 0.7,
            "per_class": {"buy": {"f1": 0.4, "support": 20}},
            "member_accuracy": [0.6],
        },
    ]
    mean = mean_metrics(folds)
    assert mean["test_accuracy"] == pytest.approx(0.6)
    assert mean["per_class"]["buy"] == {"f1": pytest.approx(0.3), "support": 15.0}
    assert "member_accuracy" not in mean


def test_ensemble_history_carries_a_stopped_member_at_its_last_epoch():
    def member(seed, losses, best):
        history = {"train_loss": losses, "val_loss": losses, "val_accuracy": [0.5] * len(losses)}
        return MemberOutcome(seed, len(losses), best, min(losses), history)

    metrics = ensemble_training_metrics([member(1, [1.0, 0.8, 0.9], 2), member(2, [3.0], 1)])
    # Every epoch averages both members (the first and final epochs compare the same ones).
    assert metrics["history"]["train_loss"] == [2.0, 1.9, 1.95]
    assert (metrics["epochs_run"], metrics["best_epoch"], metrics["final_train_loss"]) == (
        3,
        2,
        1.95,
    )
    assert [m["seed"] for m in metrics["members"]] == [1, 2]
