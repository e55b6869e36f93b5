"""Features: indicators (TA-Lib and own), fuzzy memberships, the feature builder and labels."""

from __future__ import annotations

from ktrdr.features.audit import audit_lookahead
from ktrdr.features.builder import FeatureFrame, FeaturePipeline, Normalization
from ktrdr.features.labels import LABEL_NAMES, label_distribution, make_labels
from ktrdr.features.splits import chronological_split
from ktrdr.features.walk_forward import (
    Fold,
    WalkForwardPlan,
    plan_walk_forward,
    split_train_validation,
)

__all__ = [
    "LABEL_NAMES",
    "FeatureFrame",
    "FeaturePipeline",
    "Fold",
    "Normalization",
    "WalkForwardPlan",
    "audit_lookahead",
    "chronological_split",
    "label_distribution",
    "make_labels",
    "plan_walk_forward",
    "split_train_validation",
]
