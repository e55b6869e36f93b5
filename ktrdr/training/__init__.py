"""Train torch classifiers for strategies, evaluate them and store them as model bundles.

Names are imported on first use (PEP 562), so importing a torch-free submodule such as
``ktrdr.training.manifest`` (as the API server does) does not load torch.
"""

from __future__ import annotations

from ktrdr.lazy import lazy_exports as _lazy_exports

_EXPORTS = {
    "EnsembleOutcome": "ensemble",
    "EpochReport": "trainer",
    "FocalLoss": "losses",
    "LoadedBundle": "bundle",
    "MemberData": "ensemble",
    "MemberOutcome": "ensemble",
    "WalkForwardResult": "walk_forward",
    "TrainerConfig": "trainer",
    "build_model": "models",
    "class_weights_from_labels": "losses",
    "classification_metrics": "evaluation",
    "device_name": "device",
    "evaluate_probabilities": "evaluation",
    "is_recurrent": "models",
    "load_bundle": "bundle",
    "make_loss": "losses",
    "make_sequences": "models",
    "member_probabilities": "evaluation",
    "model_lookback": "models",
    "next_version_dir": "manifest",
    "predict_proba": "evaluation",
    "prior_log_loss": "evaluation",
    "save_bundle": "bundle",
    "select_device": "device",
    "sequence_labels": "models",
    "train_ensemble": "ensemble",
    "train_walk_forward": "walk_forward",
}

__all__ = sorted(_EXPORTS)

__getattr__ = _lazy_exports(__name__, _EXPORTS)
