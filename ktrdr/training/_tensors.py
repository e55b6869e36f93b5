"""Check model inputs and move them to torch once, at the boundary."""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from ktrdr.errors import ValidationError

INFERENCE_BATCH_SIZE = 8192


def feature_tensor(features: np.ndarray, name: str, device: torch.device) -> torch.Tensor:
    """Return ``features`` as float32 on ``device``; 2-D rows or 3-D windows, finite, non-empty."""
    array = np.asarray(features)
    if array.ndim not in (2, 3):
        raise ValidationError(
            f"{name}: expected 2-D (rows, features) or 3-D (windows, lookback, features), "
            f"got shape {array.shape}"
        )
    if len(array) == 0:
        raise ValidationError(f"{name}: empty, needs at least one row")
    array = array.astype(np.float32, copy=False)
    if not np.isfinite(array).all():
        bad = np.argwhere(~np.isfinite(array))[0].tolist()
        raise ValidationError(f"{name}: contains NaN or inf (first at index {bad})")
    return torch.from_numpy(np.ascontiguousarray(array)).to(device)


def label_tensor(
    labels: np.ndarray, name: str, n_rows: int, n_classes: int, device: torch.device
) -> torch.Tensor:
    """Return ``labels`` as int64 class indices on ``device``, one per feature row."""
    array = np.asarray(labels)
    if array.ndim != 1 or len(array) != n_rows:
        raise ValidationError(f"{name}: expected {n_rows} labels (one per row), got {array.shape}")
    if not np.issubdtype(array.dtype, np.integer) and not np.array_equal(array, np.round(array)):
        raise ValidationError(f"{name}: labels must be integer class indices")
    array = array.astype(np.int64)
    if array.min() < 0 or array.max() >= n_classes:
        raise ValidationError(
            f"{name}: labels must be class indices in [0, {n_classes - 1}], "
            f"got range [{array.min()}, {array.max()}]"
        )
    return torch.from_numpy(array).to(device)


def output_classes(model: nn.Module, sample: torch.Tensor) -> int:
    """Return how many class logits ``model`` emits, probing it with one input row."""
    was_training = model.training
    model.eval()
    with torch.no_grad():
        logits = model(sample[:1])
    model.train(was_training)
    if logits.ndim != 2:
        raise ValidationError(f"model: expected (batch, classes) logits, got shape {logits.shape}")
    return int(logits.shape[1])


def batched_logits(
    model: nn.Module, features: torch.Tensor, batch_size: int = INFERENCE_BATCH_SIZE
) -> torch.Tensor:
    """Return the model's logits for every row, in eval mode and without gradients."""
    was_training = model.training
    model.eval()
    with torch.no_grad():
        logits = torch.cat(
            [model(features[i : i + batch_size]) for i in range(0, len(features), batch_size)]
        )
    model.train(was_training)
    return logits
