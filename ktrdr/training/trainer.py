"""Train a classifier with early stopping, class weights, focal loss and cancellation."""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

import numpy as np
import torch
from torch import nn

from ktrdr.errors import ValidationError
from ktrdr.training._tensors import batched_logits, feature_tensor, label_tensor, output_classes
from ktrdr.training.losses import (
    DEFAULT_FOCAL_GAMMA,
    LOSS_KINDS,
    class_weights_from_labels,
    make_loss,
)

logger = logging.getLogger(__name__)

DEFAULT_EPOCHS = 50
DEFAULT_LEARNING_RATE = 1e-3
DEFAULT_BATCH_SIZE = 64
DEFAULT_PATIENCE = 8
DEFAULT_GRAD_CLIP_NORM = 1.0
DEFAULT_SEED = 42
LR_SCHEDULES = ("plateau", "cosine")
PLATEAU_FACTOR = 0.5
FUSED_ADAM_DEVICES = ("cpu", "cuda")


@dataclass(frozen=True, kw_only=True)
class TrainerConfig:
    """How to train: e.g. 50 epochs of Adam at lr 0.001, batches of 64, stop after 8 flat epochs.

    ``patience`` None never stops early (the best epoch's weights are still restored);
    ``grad_clip_norm`` None disables clipping; ``class_weights`` weights the loss by inverse
    training-label frequency; ``lr_schedule`` "plateau" halves the rate when validation loss
    stalls for max(1, patience // 2) epochs, "cosine" anneals it to 0 over ``epochs``.
    """

    epochs: int = DEFAULT_EPOCHS
    learning_rate: float = DEFAULT_LEARNING_RATE
    batch_size: int = DEFAULT_BATCH_SIZE
    patience: int | None = DEFAULT_PATIENCE
    min_delta: float = 0.0
    loss: str = "cross_entropy"
    focal_gamma: float = DEFAULT_FOCAL_GAMMA
    class_weights: bool = True
    grad_clip_norm: float | None = DEFAULT_GRAD_CLIP_NORM
    lr_schedule: str | None = None
    seed: int = DEFAULT_SEED

    def __post_init__(self) -> None:
        problems = [
            message
            for bad, message in (
                (self.epochs < 1, f"epochs must be >= 1, got {self.epochs}"),
                (not self.learning_rate > 0, "learning_rate must be > 0"),
                (self.batch_size < 1, f"batch_size must be >= 1, got {self.batch_size}"),
                (self.patience is not None and self.patience < 1, "patience must be >= 1 or None"),
                (not self.min_delta >= 0, f"min_delta must be >= 0, got {self.min_delta}"),
                (self.loss not in LOSS_KINDS, f"loss must be one of {LOSS_KINDS}"),
                (not self.focal_gamma >= 0, f"focal_gamma must be >= 0, got {self.focal_gamma}"),
                (
                    self.grad_clip_norm is not None and not self.grad_clip_norm > 0,
                    f"grad_clip_norm must be > 0 or None, got {self.grad_clip_norm}",
                ),
                (
                    self.lr_schedule is not None and self.lr_schedule not in LR_SCHEDULES,
                    f"lr_schedule must be None or one of {LR_SCHEDULES}, got {self.lr_schedule!r}",
                ),
            )
            if bad
        ]
        if problems:
            raise ValidationError(f"training config: {'; '.join(problems)}")


@dataclass(frozen=True)
class EpochReport:
    """One finished epoch (1-based ``epoch`` of ``epochs``) and the learning rate it used."""

    epoch: int
    epochs: int
    train_loss: float
    val_loss: float
    val_accuracy: float
    learning_rate: float


@dataclass(frozen=True)
class TrainingOutcome:
    """What training did; ``best_epoch`` is 1-based, and None (as is ``final_train_loss``)
    only when ``stopped`` came before the first epoch finished."""

    history: dict[str, list[float]] = field(repr=False)
    epochs_run: int
    best_epoch: int | None
    final_train_loss: float | None
    stopped: bool


@contextmanager
def _deterministic(device: torch.device) -> Iterator[None]:
    """Force deterministic kernels on CPU for the duration, restoring the caller's setting."""
    if device.type != "cpu":
        yield
        return
    enabled = torch.are_deterministic_algorithms_enabled()
    warn_only = torch.is_deterministic_algorithms_warn_only_enabled()
    torch.use_deterministic_algorithms(True)
    try:
        yield
    finally:
        torch.use_deterministic_algorithms(enabled, warn_only=warn_only)


def _make_scheduler(
    optimizer: torch.optim.Optimizer, config: TrainerConfig
) -> torch.optim.lr_scheduler.LRScheduler | torch.optim.lr_scheduler.ReduceLROnPlateau | None:
    if config.lr_schedule == "plateau":
        return torch.optim.lr_scheduler.ReduceLROnPlateau(
            optimizer, factor=PLATEAU_FACTOR, patience=max(1, (config.patience or 2) // 2)
        )
    if config.lr_schedule == "cosine":
        return torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=config.epochs)
    return None


def _train_epoch(
    model: nn.Module,
    features: torch.Tensor,
    labels: torch.Tensor,
    criterion: nn.Module,
    optimizer: torch.optim.Optimizer,
    config: TrainerConfig,
    generator: torch.Generator,
    should_stop: Callable[[], bool] | None,
) -> float | None:
    """Run one shuffled pass; return the mean batch loss, or None when ``should_stop`` fired."""
    model.train()
    n_rows = len(features)
    order = torch.randperm(n_rows, generator=generator).to(features.device)
    shuffled_x, shuffled_y = features[order], labels[order]
    parameters = [p for p in model.parameters() if p.requires_grad]
    total = torch.zeros((), device=features.device)
    for start in range(0, n_rows, config.batch_size):
        if should_stop is not None and should_stop():
            return None
        batch_x = shuffled_x[start : start + config.batch_size]
        batch_y = shuffled_y[start : start + config.batch_size]
        optimizer.zero_grad(set_to_none=True)
        loss = criterion(model(batch_x), batch_y)
        loss.backward()
        if config.grad_clip_norm is not None:
            nn.utils.clip_grad_norm_(parameters, config.grad_clip_norm)
        optimizer.step()
        total += loss.detach() * len(batch_x)
    return total.item() / n_rows


def _validate(
    model: nn.Module, features: torch.Tensor, labels: torch.Tensor, criterion: nn.Module
) -> tuple[float, float]:
    """Return (loss, accuracy) over the whole validation set."""
    logits = batched_logits(model, features)
    loss = criterion(logits, labels).item()
    accuracy = (logits.argmax(dim=1) == labels).float().mean().item()
    return loss, accuracy


def _check_finite(epoch: int, name: str, value: float, config: TrainerConfig) -> None:
    if not math.isfinite(value):
        raise ValidationError(
            f"training diverged: {name} is {value} at epoch {epoch} "
            f"(learning_rate={config.learning_rate}); lower the learning rate or check the features"
        )


def _snapshot(model: nn.Module) -> dict[str, torch.Tensor]:
    """Return an independent copy of the weights (clones, not references to live tensors)."""
    return {name: tensor.detach().clone() for name, tensor in model.state_dict().items()}


def train_model(
    model: nn.Module,
    X_train: np.ndarray,
    y_train: np.ndarray,
    X_val: np.ndarray,
    y_val: np.ndarray,
    config: TrainerConfig,
    *,
    on_epoch: Callable[[EpochReport], None] | None = None,
    should_stop: Callable[[], bool] | None = None,
    device: torch.device | str = "cpu",
) -> TrainingOutcome:
    """Train ``model`` in place on ``device`` and leave it in eval mode with its best weights.

    Adam minimises (class-weighted) cross-entropy or focal loss on shuffled batches; after
    each epoch the validation loss is measured, ``on_epoch`` is called, and training stops once
    the loss has not improved by more than ``min_delta`` for ``patience`` epochs. The weights of
    the epoch with the lowest validation loss are restored. ``should_stop`` is polled before
    every batch; when it returns True training ends at once with ``stopped=True``. For a given
    seed, CPU runs are bit-for-bit reproducible (seed the model's initial weights too, e.g.
    ``build_model(..., seed=...)``).
    """
    device = torch.device(device)
    model.to(device)
    x_train = feature_tensor(X_train, "X_train", device)
    x_val = feature_tensor(X_val, "X_val", device)
    n_classes = output_classes(model, x_train)
    t_train = label_tensor(y_train, "y_train", len(x_train), n_classes, device)
    t_val = label_tensor(y_val, "y_val", len(x_val), n_classes, device)
    weights = class_weights_from_labels(y_train, n_classes) if config.class_weights else None
    criterion = make_loss(config.loss, focal_gamma=config.focal_gamma, class_weights=weights)
    criterion.to(device)

    started = time.perf_counter()
    history: dict[str, list[float]] = {"train_loss": [], "val_loss": [], "val_accuracy": []}
    best_loss, best_epoch, best_state = math.inf, None, None
    stopped = False
    with _deterministic(device):
        torch.manual_seed(config.seed)
        generator = torch.Generator().manual_seed(config.seed)
        # Fused Adam updates all parameters in one kernel: ~3x faster steps for small models.
        optimizer = torch.optim.Adam(
            model.parameters(), lr=config.learning_rate, fused=device.type in FUSED_ADAM_DEVICES
        )
        scheduler = _make_scheduler(optimizer, config)
        for epoch in range(1, config.epochs + 1):
            learning_rate = optimizer.param_groups[0]["lr"]
            train_loss = _train_epoch(
                model, x_train, t_train, criterion, optimizer, config, generator, should_stop
            )
            if train_loss is None:
                stopped = True
                break
            val_loss, val_accuracy = _validate(model, x_val, t_val, criterion)
            _check_finite(epoch, "train loss", train_loss, config)
            _check_finite(epoch, "validation loss", val_loss, config)
            for key, value in zip(history, (train_loss, val_loss, val_accuracy), strict=True):
                history[key].append(value)
            if val_loss < best_loss - config.min_delta:
                best_loss, best_epoch, best_state = val_loss, epoch, _snapshot(model)
            if isinstance(scheduler, torch.optim.lr_scheduler.ReduceLROnPlateau):
                scheduler.step(val_loss)
            elif scheduler is not None:
                scheduler.step()
            if on_epoch is not None:
                on_epoch(
                    EpochReport(
                        epoch, config.epochs, train_loss, val_loss, val_accuracy, learning_rate
                    )
                )
            if config.patience is not None and epoch - (best_epoch or 0) >= config.patience:
                break
    if best_state is not None:
        model.load_state_dict(best_state)
    model.eval()
    epochs_run = len(history["train_loss"])
    logger.info(
        "trained %d/%d epochs in %.2fs (best epoch %s, val loss %.4f, stopped=%s)",
        epochs_run, config.epochs, time.perf_counter() - started, best_epoch, best_loss, stopped,
    )  # fmt: skip
    return TrainingOutcome(
        history=history,
        epochs_run=epochs_run,
        best_epoch=best_epoch,
        final_train_loss=history["train_loss"][-1] if epochs_run else None,
        stopped=stopped,
    )
