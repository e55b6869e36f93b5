"""Vectorised membership functions; validity rules live in ``ktrdr.strategy.membership_specs``."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from ktrdr.errors import ValidationError
from ktrdr.strategy import check_membership


def membership_degrees(
    type_name: str, parameters: Sequence[float], values: np.ndarray
) -> np.ndarray:
    """Degree in [0, 1] to which each value belongs to the fuzzy set; NaN in -> NaN out.

    ``membership_degrees("triangular", [0, 20, 40], np.array([10.0, 20.0, 50.0]))`` ->
    ``[0.5, 1.0, 0.0]``. Degenerate edges are vertical: triangular ``[0, 0, 20]`` is 1 at 0.
    """
    message = check_membership(type_name, parameters)
    if message is not None:
        raise ValidationError(message)
    x = np.asarray(values, dtype=np.float64)
    p = [float(value) for value in parameters]
    if type_name == "triangular":
        degrees = _trapezoid(x, p[0], p[1], p[1], p[2])
    elif type_name == "trapezoidal":
        degrees = _trapezoid(x, *p)
    elif type_name == "gaussian":
        with np.errstate(over="ignore"):  # a huge distance squares to inf: degree exactly 0
            degrees = np.exp(-0.5 * np.square((x - p[0]) / p[1]))
    else:
        # 1 / (1 + exp(-z)) written with tanh so that large |z| cannot overflow
        degrees = 0.5 * (1.0 + np.tanh(0.5 * p[1] * (x - p[0])))
    return np.where(np.isnan(x), np.nan, degrees)


def _trapezoid(x: np.ndarray, a: float, b: float, c: float, d: float) -> np.ndarray:
    rising = _ramp(x - a, b - a)
    falling = _ramp(d - x, d - c)
    return np.minimum(rising, falling)


def _ramp(distance: np.ndarray, width: float) -> np.ndarray:
    # distance >= width reaches the plateau; a zero-width edge is a vertical step at the plateau
    if width == 0.0:
        return (distance >= 0.0).astype(np.float64)
    return np.clip(distance / width, 0.0, 1.0)
