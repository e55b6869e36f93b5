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
    """Return accuracy, macro precision/recall/F1 and per-class scores of predicted classes.

    Never NaN: a class never predicted has precision 0.0, a class absent from ``labels`` has
    recall 0.0 (its support, 0, is reported), and F1 is 0.0 when precision + recall is 0. The
    macro averages run over the classes that occur in ``labels`` or ``predicted``, as
    scikit-learn does, so a class missing from both does not drag the average down.
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
    }


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
    """The DESIGN §8 test metrics (test_accuracy, test_loss, macro scores, per_class) of class
    probabilities, e.g. an ensemble's mean.

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
