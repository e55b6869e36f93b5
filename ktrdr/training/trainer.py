"""How a network is trained (``TrainerConfig``) and what each finished epoch reports."""

from __future__ import annotations

from dataclasses import dataclass

from ktrdr.errors import ValidationError
from ktrdr.training.losses import DEFAULT_FOCAL_GAMMA, LOSS_KINDS

DEFAULT_EPOCHS = 50
DEFAULT_LEARNING_RATE = 1e-3
DEFAULT_BATCH_SIZE = 64
DEFAULT_PATIENCE = 8
DEFAULT_GRAD_CLIP_NORM = 1.0
DEFAULT_SEED = 42
LR_SCHEDULES = ("plateau", "cosine")
PLATEAU_FACTOR = 0.5


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
