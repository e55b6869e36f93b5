"""Classification losses: class-weighted cross-entropy and focal loss."""

from __future__ import annotations

import logging

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from ktrdr.errors import ValidationError

logger = logging.getLogger(__name__)

LOSS_KINDS = ("cross_entropy", "focal")
DEFAULT_FOCAL_GAMMA = 2.0
# A class 25x rarer than the average would otherwise weigh 25: the model then predicts it
# everywhere and accuracy collapses. Capped, the rare class still counts 5x.
MAX_CLASS_WEIGHT = 5.0


def class_weights_from_labels(labels: np.ndarray, n_classes: int = 3) -> np.ndarray:
    """Return inverse-frequency weights averaging 1 over the classes present.

    weight_c = n / (k * count_c) with k = classes present, as scikit-learn's "balanced": labels
    with counts sell 100, hold 700, buy 200 give weights 3.33, 0.48, 1.67. A class absent from
    ``labels`` gets weight 1.0 (it never occurs in training, so the value only matters elsewhere).
    Weights are capped at ``MAX_CLASS_WEIGHT`` (5.0): hold 39 of 2,975 labels gets 5.0, not 25.4.
    """
    counts = np.bincount(np.asarray(labels, dtype=np.int64), minlength=n_classes)[:n_classes]
    present = counts > 0
    if not present.any():
        raise ValidationError("labels: empty, cannot compute class weights")
    weights = np.ones(n_classes, dtype=np.float64)
    weights[present] = counts.sum() / (present.sum() * counts[present])
    np.minimum(weights, MAX_CLASS_WEIGHT, out=weights)
    if not present.all():
        logger.warning("classes %s absent from the training labels", np.flatnonzero(~present))
    return weights


class FocalLoss(nn.Module):
    """Focal loss -(w_y) (1 - p_y)^gamma log p_y, averaged like weighted cross-entropy.

    gamma 0 with no weights equals cross-entropy; gamma 2 scales an example already predicted
    with p_y = 0.9 by 0.01, focusing training on the hard ones.
    """

    def __init__(self, gamma: float = DEFAULT_FOCAL_GAMMA, weight: torch.Tensor | None = None):
        super().__init__()
        self.gamma = gamma
        self.register_buffer("weight", weight)

    def forward(self, logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        """Return the mean focal loss of a batch of logits against class indices."""
        log_p = F.log_softmax(logits, dim=1).gather(1, target.unsqueeze(1)).squeeze(1)
        losses = -((1.0 - log_p.exp()).pow(self.gamma)) * log_p
        if self.weight is None:
            return losses.mean()
        sample_weight = self.weight[target]
        return (losses * sample_weight).sum() / sample_weight.sum()


def make_loss(
    kind: str,
    *,
    focal_gamma: float = DEFAULT_FOCAL_GAMMA,
    class_weights: np.ndarray | None = None,
) -> nn.Module:
    """Return the ("cross_entropy" or "focal") loss module, optionally class-weighted."""
    weight = None if class_weights is None else torch.as_tensor(class_weights, dtype=torch.float32)
    if kind == "cross_entropy":
        return nn.CrossEntropyLoss(weight=weight)
    if kind == "focal":
        return FocalLoss(focal_gamma, weight)
    raise ValidationError(f"loss {kind!r} is unknown; allowed: {', '.join(LOSS_KINDS)}")
