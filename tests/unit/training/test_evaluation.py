from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn

from ktrdr.errors import ValidationError
from ktrdr.training.evaluation import (
    classification_metrics,
    evaluate_probabilities,
    predict_proba,
    prior_log_loss,
)


class FixedLogits(nn.Module):
    """A 'model' whose logits are the first three input columns."""

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        return features[:, :3]


def test_metrics_on_a_hand_counted_confusion() -> None:
    labels = np.array([0, 0, 1, 1, 2, 2])
    predicted = np.array([0, 1, 1, 1, 2, 0])
    metrics = classification_metrics(labels, predicted)
    assert metrics["test_accuracy"] == pytest.approx(4 / 6)
    assert metrics["per_class"]["sell"] == pytest.approx(
        {"precision": 0.5, "recall": 0.5, "f1": 0.5, "support": 2}
    )
    assert metrics["per_class"]["hold"]["precision"] == pytest.approx(2 / 3)
    assert metrics["per_class"]["buy"]["recall"] == pytest.approx(0.5)
    assert metrics["precision"] == pytest.approx((0.5 + 2 / 3 + 1.0) / 3)
    # Recalls sell 1/2, hold 2/2, buy 1/2.
    assert metrics["balanced_accuracy"] == pytest.approx((0.5 + 1.0 + 0.5) / 3)
    assert metrics["confusion"] == {
        "sell": {"sell": 1, "hold": 1, "buy": 0},
        "hold": {"sell": 0, "hold": 2, "buy": 0},
        "buy": {"sell": 1, "hold": 0, "buy": 1},
    }


def test_balanced_accuracy_averages_only_the_classes_in_the_labels() -> None:
    # No sell label; hold recall 3/4, buy recall 0/1; the wrong sell prediction counts nowhere.
    labels = np.array([1, 1, 1, 1, 2])
    predicted = np.array([1, 1, 1, 0, 1])
    metrics = classification_metrics(labels, predicted)
    assert metrics["balanced_accuracy"] == pytest.approx((0.75 + 0.0) / 2)
    assert metrics["test_accuracy"] == pytest.approx(3 / 5)


def test_always_predicting_the_majority_class_scores_chance_balanced_accuracy() -> None:
    labels = np.array([0, 1, 1, 1, 1, 1, 1, 2])
    metrics = classification_metrics(labels, np.ones(8, dtype=np.int64))
    assert metrics["test_accuracy"] == 0.75
    assert metrics["balanced_accuracy"] == pytest.approx(1 / 3)


def test_prior_log_loss_by_hand() -> None:
    # Training counts sell 2, hold 1, buy 1, add-one smoothed: (3/7, 2/7, 2/7).
    train = np.array([0, 0, 1, 2])
    loss = prior_log_loss(train, np.array([0, 2]))
    assert loss == pytest.approx(-(np.log(3 / 7) + np.log(2 / 7)) / 2)
    assert loss == pytest.approx(1.0500, abs=1e-4)


def test_prior_log_loss_stays_finite_for_a_class_absent_from_training() -> None:
    # Only hold in training: (1/6, 4/6, 1/6); a buy test label costs ln 6.
    assert prior_log_loss(np.array([1, 1, 1]), np.array([2])) == pytest.approx(np.log(6))


@pytest.mark.parametrize(
    ("train", "test", "fragment"),
    [
        (np.array([], dtype=np.int64), np.array([0]), "train_labels: need at least one label"),
        (np.array([0]), np.array([], dtype=np.int64), "test_labels: need at least one label"),
        (np.array([0, 3]), np.array([0]), "train_labels: class indices must be in [0, 2]"),
        (np.array([0]), np.array([-1]), "test_labels: class indices must be in [0, 2]"),
    ],
)
def test_prior_log_loss_rejects_bad_labels(train, test, fragment: str) -> None:
    with pytest.raises(ValidationError) as info:
        prior_log_loss(train, test)
    assert fragment in info.value.message


def test_a_class_never_predicted_scores_zero_not_nan() -> None:
    labels = np.array([0, 1, 2, 2])
    predicted = np.array([0, 1, 1, 1])
    buy = classification_metrics(labels, predicted)["per_class"]["buy"]
    assert buy == {"precision": 0.0, "recall": 0.0, "f1": 0.0, "support": 2}


def test_a_class_absent_everywhere_is_left_out_of_the_macro_average() -> None:
    metrics = classification_metrics(np.array([1, 1, 2]), np.array([1, 1, 2]))
    assert metrics["f1"] == 1.0
    assert metrics["per_class"]["sell"]["support"] == 0


def test_evaluated_probabilities_report_the_design_keys_and_plain_cross_entropy() -> None:
    logits = np.array([[3.0, 0, 0], [0, 3.0, 0], [0, 0, 3.0], [0, 3.0, 0]])
    labels = np.array([0, 1, 2, 2])
    probabilities = torch.softmax(torch.from_numpy(logits), dim=1).numpy()
    metrics = evaluate_probabilities(probabilities, labels)
    assert set(metrics) == {
        *("test_accuracy", "test_loss", "balanced_accuracy"),
        *("precision", "recall", "f1", "per_class", "confusion"),
    }
    assert list(metrics["per_class"]) == ["sell", "hold", "buy"]
    expected = nn.CrossEntropyLoss()(torch.from_numpy(logits), torch.from_numpy(labels))
    assert metrics["test_loss"] == pytest.approx(expected.item())
    assert metrics["test_accuracy"] == 0.75


def test_predict_proba_rows_are_distributions() -> None:
    features = np.random.default_rng(0).normal(size=(10, 3))
    probabilities = predict_proba(FixedLogits(), features)
    assert probabilities.shape == (10, 3)
    np.testing.assert_allclose(probabilities.sum(axis=1), 1.0, rtol=1e-6)
    assert probabilities.argmax(axis=1).tolist() == features.argmax(axis=1).tolist()


@pytest.mark.parametrize(
    ("features", "fragment"),
    [(np.zeros((0, 3)), "X: empty"), (np.array([[np.nan, 0, 0]]), "NaN or inf")],
)
def test_predict_proba_rejects_bad_input(features, fragment: str) -> None:
    with pytest.raises(ValidationError) as info:
        predict_proba(FixedLogits(), features)
    assert fragment in info.value.message


@pytest.mark.parametrize(
    ("probabilities", "labels", "fragment"),
    [
        (np.full((2, 3), 1 / 3), np.array([0, 3]), "class indices must be in [0, 2]"),
        (np.full((2, 3), 1 / 3), np.array([0]), "expected shape (1, 3), got (2, 3)"),
    ],
)
def test_evaluate_probabilities_rejects_bad_input(probabilities, labels, fragment: str) -> None:
    with pytest.raises(ValidationError) as info:
        evaluate_probabilities(probabilities, labels)
    assert fragment in info.value.message
