"""Build a torch classifier from a strategy's ``model`` section."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import torch
from torch import nn

from ktrdr.errors import ValidationError
from ktrdr.strategy import MlpArchitecture, RecurrentArchitecture
from ktrdr.training.models.mlp import ACTIVATIONS, MLPClassifier
from ktrdr.training.models.recurrent import RECURRENT_CELLS, RecurrentClassifier

MODEL_TYPES = ("mlp", *RECURRENT_CELLS)
MODEL_SECTION_KEYS = ("type", "architecture", "lookback", "seed")
DEFAULT_LOOKBACK = 1

# The strategy schema owns the defaults, so a section with keys left out builds the same model.
MLP_DEFAULTS: dict[str, Any] = MlpArchitecture().model_dump()
RECURRENT_DEFAULTS: dict[str, Any] = RecurrentArchitecture().model_dump()


def _fail(path: str, message: str) -> ValidationError:
    return ValidationError(f"{path}: {message}", details={"path": path})


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _positive_int(path: str, value: Any) -> int:
    if not _is_int(value) or value < 1:
        raise _fail(path, f"must be an integer >= 1, got {value!r}")
    return value


def _non_negative_int(path: str, value: Any) -> int:
    if not _is_int(value) or value < 0:
        raise _fail(path, f"must be an integer >= 0, got {value!r}")
    return value


def _dropout(path: str, value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0 <= value < 1:
        raise _fail(path, f"must be a number in [0, 1), got {value!r}")
    return float(value)


def _hidden_layers(path: str, value: Any) -> list[int]:
    if not isinstance(value, list | tuple) or not value:
        raise _fail(path, f"must be a non-empty list of layer widths, got {value!r}")
    return [_positive_int(f"{path}[{i}]", width) for i, width in enumerate(value)]


def _activation(path: str, value: Any) -> str:
    if value not in ACTIVATIONS:
        raise _fail(path, f"unknown activation {value!r}; allowed: {', '.join(ACTIVATIONS)}")
    return value


def _boolean(path: str, value: Any) -> bool:
    if not isinstance(value, bool):
        raise _fail(path, f"must be true or false, got {value!r}")
    return value


_MLP_CHECKS: dict[str, Callable[[str, Any], Any]] = {
    "hidden_layers": _hidden_layers,
    "dropout": _dropout,
    "activation": _activation,
}
_RECURRENT_CHECKS: dict[str, Callable[[str, Any], Any]] = {
    "hidden_size": _positive_int,
    "num_layers": _positive_int,
    "dropout": _dropout,
    "bidirectional": _boolean,
}


def model_type(model_section: Mapping[str, Any]) -> str:
    """Return the lower-case model type ("mlp", "lstm" or "gru") or raise ValidationError."""
    if not isinstance(model_section, Mapping):
        raise _fail("model", f"must be a mapping, got {type(model_section).__name__}")
    unknown = sorted(set(model_section) - set(MODEL_SECTION_KEYS))
    if unknown:
        raise _fail("model", f"unknown keys {unknown}; allowed: {', '.join(MODEL_SECTION_KEYS)}")
    kind = model_section.get("type")
    if not isinstance(kind, str) or kind.lower() not in MODEL_TYPES:
        raise _fail("model.type", f"unknown model type {kind!r}; allowed: {', '.join(MODEL_TYPES)}")
    return kind.lower()


def is_recurrent(model_section: Mapping[str, Any]) -> bool:
    """Return True for LSTM/GRU models, whose inputs are windows from make_sequences."""
    return model_type(model_section) in RECURRENT_CELLS


def model_lookback(model_section: Mapping[str, Any]) -> int:
    """Return the section's lookback (bars per window; default 1)."""
    return _positive_int("model.lookback", model_section.get("lookback", DEFAULT_LOOKBACK))


def resolve_architecture(model_section: Mapping[str, Any]) -> dict[str, Any]:
    """Return the architecture with defaults filled in, checking every key and value."""
    kind = model_type(model_section)
    model_lookback(model_section)
    defaults, checks = (
        (MLP_DEFAULTS, _MLP_CHECKS) if kind == "mlp" else (RECURRENT_DEFAULTS, _RECURRENT_CHECKS)
    )
    given = model_section.get("architecture") or {}
    if not isinstance(given, Mapping):
        raise _fail("model.architecture", f"must be a mapping, got {type(given).__name__}")
    unknown = sorted(set(given) - set(checks))
    if unknown:
        raise _fail(
            "model.architecture",
            f"unknown keys {unknown} for {kind}; allowed: {', '.join(checks)}",
        )
    merged = {**defaults, **given}
    return {key: check(f"model.architecture.{key}", merged[key]) for key, check in checks.items()}


def build_model(
    model_section: Mapping[str, Any],
    n_features: int,
    n_classes: int = 3,
    *,
    seed: int | None = None,
) -> nn.Module:
    """Build the classifier described by a strategy ``model`` section, returning logits.

    For "mlp", ``n_features`` is the width of one feature row (lags already stacked by the
    feature builder); for "lstm"/"gru" it is the features per time step of a window. With
    ``seed`` (else the section's own ``seed``), the initial weights are reproducible; the
    global RNG is left untouched either way.
    """
    kind = model_type(model_section)
    architecture = resolve_architecture(model_section)
    if seed is None and model_section.get("seed") is not None:
        seed = _non_negative_int("model.seed", model_section["seed"])
    _positive_int("n_features", n_features)
    if not _is_int(n_classes) or n_classes < 2:
        raise _fail("n_classes", f"must be an integer >= 2, got {n_classes!r}")
    with torch.random.fork_rng(devices=[]):
        if seed is not None:
            torch.manual_seed(seed)
        if kind == "mlp":
            return MLPClassifier(n_features, **architecture, n_classes=n_classes)
        return RecurrentClassifier(kind, n_features, **architecture, n_classes=n_classes)
