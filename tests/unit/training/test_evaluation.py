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
    assert set(metrics) == {"test_accuracy", "test_loss", "precision", "recall", "f1", "per_class"}
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
