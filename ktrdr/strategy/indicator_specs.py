"""The indicator catalogue: names, aliases, parameters, outputs and warm-up of every indicator.

Strategy validation reads this module; ``ktrdr.features.indicators`` computes what it describes.
Besides the catalogue, any TA-Lib function is available as ``talib.<NAME>`` with TA-Lib's own
parameter names (``talib.KAMA`` with ``timeperiod``); its spec is read from ``talib.abstract``.
Every warm-up lasts until the value no longer depends on where the history starts; a TA-Lib
function that never forgets its first bar (``talib.OBV``, ``talib.AD``) is refused.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from ktrdr.errors import ValidationError
from ktrdr.strategy._indicator_catalogue import (
    BAR_COLUMNS,
    CATALOGUE,
    LOOKUP,
    PRICE_SOURCES,
    WARMUP,
    IndicatorSpec,
    ParamSpec,
    constraint_issues,
)
from ktrdr.strategy._talib_specs import (
    TALIB_PREFIX,
    talib_param_issues,
    talib_settle_issues,
    talib_spec,
    talib_warmup,
)

__all__ = [
    "BAR_COLUMNS",
    "PRICE_SOURCES",
    "TALIB_PREFIX",
    "IndicatorSpec",
    "ParamSpec",
    "check_indicator_params",
    "get_indicator_spec",
    "indicator_output_names",
    "is_talib_spec",
    "list_indicator_specs",
    "resolve_indicator_params",
    "warmup_bars",
]

Issues = list[tuple[str, str]]


def get_indicator_spec(type_name: str) -> IndicatorSpec:
    """Find an indicator by type name: case-insensitive, aliases, or ``talib.<NAME>``.

    ``"BBands"``, ``"bollinger_bands"`` and ``"BollingerBands"`` all give ``bollingerbands``.
    """
    if not isinstance(type_name, str):
        raise ValidationError(f"indicator type must be a string, got {type_name!r}")
    if type_name.strip().lower().startswith(TALIB_PREFIX):
        return talib_spec(type_name.strip()[len(TALIB_PREFIX) :].upper())
    key = type_name.strip().lower().replace("_", "").replace("-", "").replace(" ", "")
    if key == "zigzag":
        raise ValidationError(
            "indicator 'zigzag' peeks into the future (a swing is only known once price has "
            "reversed) and cannot be a model input; use it as a label source instead"
        )
    if key not in LOOKUP:
        raise ValidationError(
            f"unknown indicator type {type_name!r}; allowed: {', '.join(sorted(LOOKUP))}, "
            "or talib.<NAME> for any TA-Lib function (e.g. talib.KAMA)"
        )
    return CATALOGUE[LOOKUP[key]]


def list_indicator_specs() -> list[IndicatorSpec]:
    """Every catalogue indicator (TA-Lib passthroughs excluded), sorted by name."""
    return sorted(CATALOGUE.values(), key=lambda spec: spec.name)


def indicator_output_names(type_name: str) -> tuple[str, ...]:
    """Outputs of a multi-output indicator, e.g. macd -> (line, signal, histogram); () if one."""
    return get_indicator_spec(type_name).outputs


def is_talib_spec(spec: IndicatorSpec) -> bool:
    """Whether ``spec`` describes a ``talib.<NAME>`` passthrough rather than a catalogue entry."""
    return spec.name.startswith(TALIB_PREFIX)


def check_indicator_params(type_name: str, params: Mapping[str, Any]) -> Issues:
    """List ``(param, message)`` for unknown, mistyped or out-of-range parameters; [] when fine.

    ``check_indicator_params("rsi", {"period": 1})`` ->
    ``[("period", "must be between 2 and 500, got 1")]``.
    """
    spec = get_indicator_spec(type_name)
    known = {p.name: p for p in spec.params}
    issues: Issues = []
    for key, value in params.items():
        if key not in known:
            allowed = ", ".join(known) or "none"
            issues.append((str(key), f"unknown parameter for {spec.name}; allowed: {allowed}"))
            continue
        message = _value_issue(known[key], value)
        if message:
            issues.append((key, message))
    if issues:
        return issues
    resolved = _fill(spec, params)
    if is_talib_spec(spec):
        return talib_param_issues(spec, resolved, params) or talib_settle_issues(spec, resolved)
    return constraint_issues(spec.name, resolved)


def resolve_indicator_params(type_name: str, params: Mapping[str, Any]) -> dict[str, Any]:
    """Check the parameters and return all of them, defaults filled in and values normalised.

    ``resolve_indicator_params("bbands", {"period": 10})`` ->
    ``{"period": 10, "multiplier": 2.0, "source": "close"}``.
    """
    spec = get_indicator_spec(type_name)
    issues = check_indicator_params(type_name, params)
    if issues:
        text = "; ".join(f"{name}: {message}" for name, message in issues)
        raise ValidationError(
            f"invalid parameters for indicator {spec.name}: {text}",
            details={"indicator": spec.name, "issues": [list(issue) for issue in issues]},
        )
    return _fill(spec, params)


def warmup_bars(type_name: str, params: Mapping[str, Any]) -> int:
    """Leading NaN bars: until the value is defined and no longer depends on the first bar.

    sma period 20 -> 19 (its window); rsi period 14 -> 232 (14 + 218 bars for Wilder's
    smoothing to forget its start to 1e-7); ``talib.<NAME>``: TA-Lib's lookback plus a measured
    settling time.
    """
    spec = get_indicator_spec(type_name)
    resolved = resolve_indicator_params(type_name, params)
    if is_talib_spec(spec):
        return talib_warmup(spec, resolved)
    return WARMUP[spec.name](resolved)


def _value_issue(param: ParamSpec, value: Any) -> str | None:
    if param.kind is bool:
        return None if isinstance(value, bool) else f"must be true or false, got {value!r}"
    if param.kind is str:
        if not isinstance(value, str):
            return f"must be a string, got {value!r}"
        if param.choices and _choice(param, value) is None:
            return f"must be one of {', '.join(param.choices)}, got {value!r}"
        return None
    wanted = "an integer" if param.kind is int else "a number"
    numeric = (int, np.integer) if param.kind is int else (int, float, np.integer, np.floating)
    if isinstance(value, bool) or not isinstance(value, numeric):
        return f"must be {wanted}, got {value!r}"
    if not np.isfinite(value):
        return f"must be a finite number, got {value!r}"
    return _range_issue(param, value)


def _range_issue(param: ParamSpec, value: float) -> str | None:
    low, high = param.minimum, param.maximum
    if low is not None and high is not None and not low <= value <= high:
        return f"must be between {low} and {high}, got {value}"
    if low is not None and value < low:
        return f"must be >= {low}, got {value}"
    if high is not None and value > high:
        return f"must be <= {high}, got {value}"
    return None


def _choice(param: ParamSpec, value: str) -> str | None:
    matches = [c for c in param.choices or () if c.lower() == value.strip().lower()]
    return matches[0] if matches else None


def _fill(spec: IndicatorSpec, params: Mapping[str, Any]) -> dict[str, Any]:
    resolved: dict[str, Any] = {}
    for param in spec.params:
        value = params.get(param.name, param.default)
        if param.kind is str and param.choices:
            value = _choice(param, value)
        resolved[param.name] = param.kind(value)
    return resolved
