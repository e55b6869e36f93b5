"""Numba kernels for recursive indicators that TA-Lib lacks (arrays in, arrays out)."""

from __future__ import annotations

import numpy as np
from numba import njit


@njit
def supertrend_nb(
    high: np.ndarray, low: np.ndarray, close: np.ndarray, atr: np.ndarray, multiplier: float
) -> tuple[np.ndarray, np.ndarray]:
    """SuperTrend line and direction (+1 / -1) from bars and their ATR; NaN before the ATR."""
    n = close.shape[0]
    trend = np.full(n, np.nan)
    direction = np.full(n, np.nan)
    start = 0
    while start < n and np.isnan(atr[start]):
        start += 1
    if start >= n:
        return trend, direction
    final_upper = (high[start] + low[start]) / 2.0 + multiplier * atr[start]
    final_lower = (high[start] + low[start]) / 2.0 - multiplier * atr[start]
    up = close[start] > final_lower
    trend[start] = final_lower if up else final_upper
    direction[start] = 1.0 if up else -1.0
    for i in range(start + 1, n):
        mid = (high[i] + low[i]) / 2.0
        basic_upper = mid + multiplier * atr[i]
        basic_lower = mid - multiplier * atr[i]
        # a band only tightens while price stays inside it
        if basic_upper < final_upper or close[i - 1] > final_upper:
            final_upper = basic_upper
        if basic_lower > final_lower or close[i - 1] < final_lower:
            final_lower = basic_lower
        up = close[i] >= final_lower if up else close[i] > final_upper
        trend[i] = final_lower if up else final_upper
        direction[i] = 1.0 if up else -1.0
    return trend, direction
