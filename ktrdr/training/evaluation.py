"""Test-set metrics and class probabilities of a trained classifier."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import torch
from torch import nn

from ktrdr.errors import ValidationError
from ktrdr.features import LABEL_NAMES
from ktrdr.training._tensors import batched_logits, feature_tensor
from ktrdr.training.losses import DEFAULT_FOCAL_GAMMA, make_loss


def predict_proba(
    model: nn.Module, X: np.ndarray, device: torch.device | str = "cpu"
) -> np.ndarray:
    """Return class probabilities, shape (n, 3), columns in LABEL_NAMES order (sell, hold, buy)."""
    device = torch.device(device)
    model.to(device)
    logits = batched_logits(model, feature_tensor(X, "X", device))
    probabilities = torch.softmax(logits, dim=1).cpu().numpy().astype(np.float64)
    if not np.isfinite(probabilities).all():
        raise ValidationError("model: produced NaN or inf probabilities; its weights are broken")
    return probabilities


def _ratio_or_zero(numerator: np.ndarray, denominator: np.ndarray) -> np.ndarray:
    zeros = np.zeros(len(numerator))
    return np.divide(numerator, denominator, out=zeros, where=denominator > 0)


def classification_metrics(labels: np.ndarray, predicted: np.ndarray) -> dict[str, Any]:
    """Return accuracy, balanced accuracy, macro precision/recall/F1 and per-class scores.

    Never NaN: a class never predicted has precision 0.0, a class absent from ``labels`` has
    recall 0.0 (its support, 0, is reported), and F1 is 0.0 when precision + recall is 0. The
    macro averages run over the classes that occur in ``labels`` or ``predicted``, as
    scikit-learn does, so a class missing from both does not drag the average down.
    ``balanced_accuracy`` is the mean recall over the classes present in ``labels``: a model
    that always predicts one class scores 1/K with K classes present, whatever their shares.
    ``confusion[true][predicted]`` counts the samples of each (true, predicted) class pair.
    """
    n_classes = len(LABEL_NAMES)
    confusion = np.bincount(labels * n_classes + predicted, minlength=n_classes**2).reshape(
        n_classes, n_classes
    )
    true_positive = np.diag(confusion).astype(np.float64)
    support = confusion.sum(axis=1)
    predicted_count = confusion.sum(axis=0)
    precision = _ratio_or_zero(true_positive, predicted_count)
    recall = _ratio_or_zero(true_positive, support)
    f1 = _ratio_or_zero(2 * precision * recall, precision + recall)
    seen = (support > 0) | (predicted_count > 0)
    return {
        "test_accuracy": float(true_positive.sum() / len(labels)),
        "balanced_accuracy": float(recall[support > 0].mean()),
        "precision": float(precision[seen].mean()),
        "recall": float(recall[seen].mean()),
        "f1": float(f1[seen].mean()),
        "per_class": {
            name: {
                "precision": float(precision[i]),
                "recall": float(recall[i]),
                "f1": float(f1[i]),
                "support": int(support[i]),
            }
            for i, name in enumerate(LABEL_NAMES)
        },
        "confusion": {
            name: {other: int(confusion[i, j]) for j, other in enumerate(LABEL_NAMES)}
            for i, name in enumerate(LABEL_NAMES)
        },
    }


def prior_log_loss(train_labels: np.ndarray, test_labels: np.ndarray) -> float:
    """Cross-entropy on ``test_labels`` of always predicting the training class frequencies.

    The trivial baseline a classifier's test loss must beat. Frequencies are add-one smoothed,
    (count + 1) / (n + K), so a class absent from training costs a finite loss: training
    counts sell 2, hold 1, buy 1 predict (3/7, 2/7, 2/7), and test labels [sell, buy] score
    -(ln 3/7 + ln 2/7) / 2 = 1.0500.
    """
    train = np.asarray(train_labels, dtype=np.int64)
    test = np.asarray(test_labels, dtype=np.int64)
    n_classes = len(LABEL_NAMES)
    for name, labels in (("train_labels", train), ("test_labels", test)):
        if labels.size == 0:
            raise ValidationError(f"{name}: need at least one label for the prior log-loss")
        if labels.min() < 0 or labels.max() >= n_classes:
            raise ValidationError(f"{name}: class indices must be in [0, {n_classes - 1}]")
    counts = np.bincount(train, minlength=n_classes).astype(np.float64)
    prior = (counts + 1.0) / (counts.sum() + n_classes)
    return float(-np.log(prior[test]).mean())


def member_probabilities(
    members: Sequence[nn.Module], X: np.ndarray, device: torch.device | str = "cpu"
) -> np.ndarray:
    """Every member's class probabilities, shape (members, n, 3); the ensemble's is the mean."""
    return np.stack([predict_proba(member, X, device) for member in members])


def evaluate_probabilities(
    probabilities: np.ndarray,
    y: np.ndarray,
    *,
    loss: str = "cross_entropy",
    focal_gamma: float = DEFAULT_FOCAL_GAMMA,
) -> dict[str, Any]:
    """The DESIGN §8 test metrics (test_accuracy, test_loss, balanced_accuracy, macro scores,
    per_class) of class probabilities, e.g. an ensemble's mean.

    ``test_loss`` is the unweighted ``loss`` of the probabilities (cross-entropy: the mean
    negative log-probability of the true class), comparable across label schemes.
    """
    probabilities = np.asarray(probabilities, dtype=np.float64)
    labels = np.asarray(y, dtype=np.int64)
    if probabilities.ndim != 2 or probabilities.shape != (len(labels), len(LABEL_NAMES)):
        raise ValidationError(
            f"probabilities: expected shape ({len(labels)}, {len(LABEL_NAMES)}), "
            f"got {probabilities.shape}"
        )
    if labels.size and (labels.min() < 0 or labels.max() >= len(LABEL_NAMES)):
        raise ValidationError(f"y: class indices must be in [0, {len(LABEL_NAMES) - 1}]")
    log_p = torch.from_numpy(np.log(np.clip(probabilities, np.finfo(np.float64).tiny, 1.0)))
    criterion = make_loss(loss, focal_gamma=focal_gamma)
    test_loss = float(criterion(log_p, torch.from_numpy(labels)).item())
    if not np.isfinite(test_loss):
        raise ValidationError(f"model: test loss is {test_loss}; its outputs are broken")
    metrics = classification_metrics(labels, probabilities.argmax(axis=1))
    return {"test_accuracy": metrics.pop("test_accuracy"), "test_loss": test_loss, **metrics}
