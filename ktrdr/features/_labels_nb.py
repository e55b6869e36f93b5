"""Numba kernels of the labellers: arrays in, arrays out, never raising."""

from __future__ import annotations

import numpy as np
from numba import njit

SELL = 0
HOLD = 1
BUY = 2
NO_LABEL = -1


@njit(cache=True)
def first_touch_labels_nb(
    upper: np.ndarray,
    lower: np.ndarray,
    high: np.ndarray,
    low: np.ndarray,
    max_horizon: int,
) -> tuple[np.ndarray, np.ndarray]:
    """Label each bar t by the first of bars t+1..t+max_horizon whose high/low touches a barrier.

    ``high[j] >= upper[t]`` is BUY, ``low[j] <= lower[t]`` is SELL, SELL when both happen in
    the same bar; no touch within a full window is HOLD. Returns ``(labels, horizon)``.
    A non-finite barrier gives -1 with horizon t; a window cut short by the end of the data
    without a touch gives -1 with horizon n-1.
    """
    n = upper.shape[0]
    labels = np.full(n, NO_LABEL, dtype=np.int8)
    horizon = np.empty(n, dtype=np.int64)
    for t in range(n):
        horizon[t] = t
        up = upper[t]
        down = lower[t]
        if not (np.isfinite(up) and np.isfinite(down)):
            continue
        last = min(t + max_horizon, n - 1)
        horizon[t] = last
        if t + max_horizon <= n - 1:
            labels[t] = HOLD
        for j in range(t + 1, last + 1):
            # Within one bar the order of high and low is unknown: assume the loss came first.
            if low[j] <= down:
                labels[t] = SELL
                horizon[t] = j
                break
            if high[j] >= up:
                labels[t] = BUY
                horizon[t] = j
                break
    return labels, horizon
