"""TrainerConfig: the training settings every ensemble trains with."""

from __future__ import annotations

import pytest

from ktrdr.errors import ValidationError
from ktrdr.training.trainer import TrainerConfig


@pytest.mark.parametrize(
    ("changes", "fragment"),
    [
        ({"epochs": 0}, "epochs must be >= 1"),
        ({"learning_rate": 0.0}, "learning_rate must be > 0"),
        ({"batch_size": 0}, "batch_size must be >= 1"),
        ({"patience": 0}, "patience"),
        ({"min_delta": -0.1}, "min_delta must be >= 0"),
        ({"loss": "hinge"}, "loss must be one of"),
        ({"focal_gamma": -1.0}, "focal_gamma must be >= 0"),
        ({"lr_schedule": "step"}, "lr_schedule"),
        ({"grad_clip_norm": -1.0}, "grad_clip_norm"),
    ],
)
def test_config_rejects_bad_values(changes: dict, fragment: str) -> None:
    with pytest.raises(ValidationError, match=fragment):
        TrainerConfig(**changes)


def test_config_lists_every_problem_at_once() -> None:
    with pytest.raises(ValidationError, match=r"epochs must be >= 1.*; batch_size must be >= 1"):
        TrainerConfig(epochs=0, batch_size=0)


def test_config_is_keyword_only_and_frozen() -> None:
    with pytest.raises(TypeError):
        TrainerConfig(10)  # type: ignore[misc]
    with pytest.raises(AttributeError):
        TrainerConfig().epochs = 3  # type: ignore[misc]
