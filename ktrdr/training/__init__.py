"""Train torch classifiers for strategies, evaluate them and store them as model bundles."""

from __future__ import annotations

from ktrdr.training.bundle import LoadedBundle, load_bundle, next_version_dir, save_bundle
from ktrdr.training.device import device_name, select_device
from ktrdr.training.evaluation import classification_metrics, evaluate, predict_proba
from ktrdr.training.losses import FocalLoss, class_weights_from_labels, make_loss
from ktrdr.training.models import (
    build_model,
    is_recurrent,
    make_sequences,
    model_lookback,
    sequence_labels,
)
from ktrdr.training.trainer import EpochReport, TrainerConfig, TrainingOutcome, train_model

__all__ = [
    "EpochReport",
    "FocalLoss",
    "LoadedBundle",
    "TrainerConfig",
    "TrainingOutcome",
    "build_model",
    "class_weights_from_labels",
    "classification_metrics",
    "device_name",
    "evaluate",
    "is_recurrent",
    "load_bundle",
    "make_loss",
    "make_sequences",
    "model_lookback",
    "next_version_dir",
    "predict_proba",
    "save_bundle",
    "select_device",
    "sequence_labels",
    "train_model",
]
