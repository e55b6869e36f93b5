"""The ``evaluation`` section: walk-forward folds and seed ensembles (DESIGN §11)."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field, model_validator

from ktrdr.strategy._schema_base import StrictModel

DEFAULT_FOLDS = 4
DEFAULT_SEEDS = 3
DEFAULT_MIN_TRAIN_FRACTION = 0.5
MAX_FOLDS = 50
MAX_SEEDS = 32


class EvaluationConfig(StrictModel):
    """How a model is evaluated: ``folds`` walk-forward folds, an ensemble of ``seeds`` networks.

    The defaults (4 folds, anchored, 3 seeds, min_train_fraction 0.5) split the samples into an
    initial training span of 50 % and 4 out-of-sample slices of 12.5 % each; fold k trains on
    everything before its slice (``anchored``) or on the ``min_train_fraction`` of samples just
    before it (``rolling``). ``folds: 0`` is the single train/validation/test split of
    ``training.data_split`` with one seed unless ``seeds`` is given.
    """

    folds: int = Field(default=DEFAULT_FOLDS, ge=0, le=MAX_FOLDS)
    scheme: Literal["anchored", "rolling"] = "anchored"
    seeds: int = Field(default=DEFAULT_SEEDS, ge=1, le=MAX_SEEDS)
    min_train_fraction: float = Field(default=DEFAULT_MIN_TRAIN_FRACTION, gt=0.0, lt=1.0)

    @model_validator(mode="before")
    @classmethod
    def _single_split_defaults_to_one_seed(cls, data: Any) -> Any:
        if isinstance(data, dict) and data.get("folds") == 0 and "seeds" not in data:
            return {**data, "seeds": 1}
        return data

    @property
    def walk_forward(self) -> bool:
        """True unless ``folds`` is 0 (the single split)."""
        return self.folds > 0
