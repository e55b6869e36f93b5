"""Torch classifiers built from a strategy's ``model`` section, and their input windows."""

from __future__ import annotations

from ktrdr.training.models.factory import (
    MODEL_TYPES,
    build_model,
    is_recurrent,
    model_lookback,
    model_type,
    resolve_architecture,
)
from ktrdr.training.models.mlp import MLPClassifier
from ktrdr.training.models.recurrent import RecurrentClassifier
from ktrdr.training.models.sequences import make_sequences, sequence_labels

__all__ = [
    "MODEL_TYPES",
    "MLPClassifier",
    "RecurrentClassifier",
    "build_model",
    "is_recurrent",
    "make_sequences",
    "model_lookback",
    "model_type",
    "resolve_architecture",
    "sequence_labels",
]
