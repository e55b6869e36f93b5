from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn

from ktrdr.errors import ValidationError
from ktrdr.training.losses import FocalLoss, class_weights_from_labels, make_loss


def test_class_weights_are_balanced_inverse_frequency() -> None:
    labels = np.repeat([0, 1, 2], [100, 700, 200])
    weights = class_weights_from_labels(labels)
    np.testing.assert_allclose(weights, [1000 / 300, 1000 / 2100, 1000 / 600])
    counts = np.array([100, 700, 200])
    assert (weights * counts).sum() == pytest.approx(counts.sum())


def test_absent_class_gets_weight_one() -> None:
    weights = class_weights_from_labels(np.array([1, 1, 1, 2]))
    np.testing.assert_allclose(weights, [1.0, 4 / 6, 4 / 2])


@pytest.fixture
def batch() -> tuple[torch.Tensor, torch.Tensor]:
    generator = torch.Generator().manual_seed(0)
    return torch.randn(32, 3, generator=generator), torch.randint(0, 3, (32,), generator=generator)


@pytest.mark.parametrize("weights", [None, np.array([2.0, 0.5, 1.0])])
def test_focal_with_gamma_zero_equals_cross_entropy(batch, weights) -> None:
    logits, target = batch
    focal = make_loss("focal", focal_gamma=0.0, class_weights=weights)
    cross_entropy = make_loss("cross_entropy", class_weights=weights)
    assert focal(logits, target).item() == pytest.approx(cross_entropy(logits, target).item())


def test_focal_down_weights_easy_examples(batch) -> None:
    logits, target = batch
    assert FocalLoss(2.0)(logits, target) < nn.CrossEntropyLoss()(logits, target)


def test_unknown_loss_is_an_error() -> None:
    with pytest.raises(ValidationError, match="'hinge' is unknown"):
        make_loss("hinge")


def test_class_weights_of_a_very_rare_class_are_capped() -> None:
    labels = np.array([0] * 1000 + [1] * 39 + [2] * 1936)
    weights = class_weights_from_labels(labels)
    assert weights[1] == 5.0
    np.testing.assert_allclose(weights[[0, 2]], [2975 / 3000, 2975 / 5808])
