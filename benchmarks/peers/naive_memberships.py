"""The naive way to compute fuzzy memberships: a per-element Python function via Series.apply."""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import pandas as pd


def naive_degree(x: float, type_name: str, parameters: Sequence[float]) -> float:
    """One value's membership degree, written the way a per-row Python loop would."""
    if math.isnan(x):
        return math.nan
    if type_name == "triangular":
        a, b, c = parameters
        return _trapezoid(x, a, b, b, c)
    if type_name == "trapezoidal":
        a, b, c, d = parameters
        return _trapezoid(x, a, b, c, d)
    if type_name == "gaussian":
        mean, sigma = parameters
        return math.exp(-0.5 * ((x - mean) / sigma) ** 2)
    center, slope = parameters
    return 0.5 * (1.0 + math.tanh(0.5 * slope * (x - center)))


def _trapezoid(x: float, a: float, b: float, c: float, d: float) -> float:
    rising = 1.0 if x >= b else (0.0 if x <= a else (x - a) / (b - a))
    falling = 1.0 if x <= c else (0.0 if x >= d else (d - x) / (d - c))
    return min(rising, falling)


def naive_membership_degrees(
    type_name: str, parameters: Sequence[float], values: np.ndarray
) -> np.ndarray:
    """Membership degrees of ``values`` by ``pd.Series.apply`` of :func:`naive_degree`."""
    series = pd.Series(values)
    return series.apply(naive_degree, args=(type_name, tuple(parameters))).to_numpy(np.float64)
