"""Fuzzy membership function types, their parameter counts and validity rules.

``ktrdr.features.fuzzy`` computes the degrees; this module only says what is valid.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Sequence

from ktrdr.errors import ValidationError

MEMBERSHIP_PARAM_COUNTS: dict[str, int] = {
    "triangular": 3,
    "trapezoidal": 4,
    "gaussian": 2,
    "sigmoid": 2,
}
MEMBERSHIP_PARAM_NAMES: dict[str, tuple[str, ...]] = {
    "triangular": ("a", "b", "c"),
    "trapezoidal": ("a", "b", "c", "d"),
    "gaussian": ("mean", "sigma"),
    "sigmoid": ("center", "slope"),
}
_SHORTHAND = {3: "triangular", 4: "trapezoidal"}


def check_membership(type_name: str, parameters: Sequence[float]) -> str | None:
    """Return None when ``parameters`` fit ``type_name``, else a message saying what is wrong.

    ``check_membership("gaussian", [1, 2, 3, 4])`` ->
    ``"gaussian takes 2 parameters [mean, sigma], got 4"``.
    """
    if type_name not in MEMBERSHIP_PARAM_COUNTS:
        allowed = ", ".join(MEMBERSHIP_PARAM_COUNTS)
        return f"unknown membership type {type_name!r}; allowed: {allowed}"
    names = MEMBERSHIP_PARAM_NAMES[type_name]
    if isinstance(parameters, str | bytes) or not isinstance(parameters, Sequence):
        return f"{type_name} parameters must be a list [{', '.join(names)}], got {parameters!r}"
    if len(parameters) != len(names):
        return (
            f"{type_name} takes {len(names)} parameters [{', '.join(names)}], got {len(parameters)}"
        )
    if not all(_is_finite_number(value) for value in parameters):
        return f"{type_name} parameters must be finite numbers, got {list(parameters)}"
    return _shape_issue(type_name, [float(value) for value in parameters])


def shorthand_membership_type(parameters: Sequence[float]) -> str:
    """Type of a bare parameter list: 3 numbers -> triangular, 4 -> trapezoidal."""
    count = len(parameters)
    if count not in _SHORTHAND:
        raise ValidationError(
            f"a bare membership parameter list must have 3 numbers (triangular) or "
            f"4 (trapezoidal), got {count}: {list(parameters)}; "
            "write {type: gaussian, parameters: [mean, sigma]} for other types"
        )
    return _SHORTHAND[count]


def _shape_issue(type_name: str, values: list[float]) -> str | None:
    if type_name in ("triangular", "trapezoidal") and values != sorted(values):
        names = MEMBERSHIP_PARAM_NAMES[type_name]
        return f"{type_name} parameters must satisfy {' <= '.join(names)}, got {values}"
    if type_name == "gaussian" and values[1] <= 0:
        return f"gaussian sigma must be > 0, got {values[1]}"
    if type_name == "sigmoid" and values[1] == 0:
        return "sigmoid slope must not be 0 (that is a constant 0.5)"
    return None


def _is_finite_number(value: object) -> bool:
    return isinstance(value, numbers.Real) and not isinstance(value, bool) and math.isfinite(value)
