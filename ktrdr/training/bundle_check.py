"""Plain-Python checks of a bundle.json before any model is built from it (no torch here)."""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import pydantic

from ktrdr.errors import ValidationError
from ktrdr.strategy import MAX_SEED, ModelConfig

MAX_FEATURES = 100_000
MAX_CLASSES = 64
MAX_MEMBERS = 64
MODEL_TYPES = ("mlp", "lstm", "gru")
# Indicators whose values changed meaning with bundle format 2: cumulative from the first bar
# given, now rolling sums over ``period`` (start-independent). A format-1 model read them raw.
REDEFINED_IN_FORMAT_2 = ("obv", "adline")
_MODEL_SECTION = pydantic.TypeAdapter(ModelConfig)


def check_manifest(manifest: Mapping[str, Any], source: str) -> None:
    """Refuse a manifest whose model is beyond the strategy schema's bounds or whose numbers
    are not finite, so nothing oversized is allocated and nothing fails late at run time."""
    section = manifest["model_section"]
    try:
        # An unknown type is left to the model factory, whose error lists the known ones.
        if isinstance(section, Mapping) and section.get("type") in MODEL_TYPES:
            _MODEL_SECTION.validate_python(section)
    except pydantic.ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(part) for part in first["loc"])
        raise ValidationError(f"{source}: model_section.{where}: {first['msg']}") from None
    _bounded_int(manifest["n_features"], 1, MAX_FEATURES, f"{source}: n_features")
    _bounded_int(manifest["n_classes"], 2, MAX_CLASSES, f"{source}: n_classes")
    if manifest.get("format_version") == 2:
        _check_seeds(manifest["seeds"], f"{source}: seeds")
    else:
        _check_format_1_indicators(manifest.get("strategy"), source)
    bad = next(_non_finite(manifest.get("normalization"), "normalization"), None)
    if bad is not None:
        raise ValidationError(f"{source}: {bad} is not a finite number")


def _check_format_1_indicators(strategy: Any, source: str) -> None:
    indicators = strategy.get("indicators") if isinstance(strategy, Mapping) else None
    used = sorted(
        {
            str(spec.get("type")).lower()
            for spec in (indicators or {}).values()
            if isinstance(spec, Mapping)
        }
        & set(REDEFINED_IN_FORMAT_2)
    )
    if used:
        raise ValidationError(
            f"{source}: a format_version 1 bundle whose strategy uses {', '.join(used)}: these "
            "indicators were cumulative from the first bar then and are rolling sums now, so "
            "this model would read other inputs than it trained on; retrain it"
        )


def _check_seeds(seeds: Any, what: str) -> None:
    if not isinstance(seeds, list) or not 1 <= len(seeds) <= MAX_MEMBERS:
        raise ValidationError(f"{what} must be a list of 1 to {MAX_MEMBERS} seeds, got {seeds!r}")
    for seed in seeds:
        _bounded_int(seed, 0, MAX_SEED, what)


def _bounded_int(value: Any, low: int, high: int, what: str) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise ValidationError(f"{what} must be an integer from {low} to {high}, got {value!r}")


def _non_finite(value: Any, where: str):  # type: ignore[no-untyped-def]
    """Paths of every NaN or infinite float in a JSON value."""
    if isinstance(value, float) and not math.isfinite(value):
        yield where
    elif isinstance(value, Mapping):
        for key, item in value.items():
            yield from _non_finite(item, f"{where}.{key}")
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _non_finite(item, f"{where}[{index}]")
