"""Small array helpers shared by the indicator modules."""

from __future__ import annotations

import numpy as np

Arrays = dict[str, np.ndarray]


def ratio(numerator: np.ndarray, denominator: np.ndarray) -> np.ndarray:
    """Element-wise numerator / denominator, NaN where the denominator is 0 (no warnings)."""
    out = np.full(np.shape(numerator), np.nan)
    return np.divide(numerator, denominator, out=out, where=denominator != 0)


def money_flow_volume(d: Arrays) -> np.ndarray:
    """Volume times ((close - low) - (high - close)) / (high - low), 0 on a zero-range bar."""
    high, low, close = d["high"], d["low"], d["close"]
    multiplier = np.where(high == low, 0.0, ratio((close - low) - (high - close), high - low))
    return multiplier * d["volume"]


def shift(values: np.ndarray, bars: int) -> np.ndarray:
    """Values ``bars`` bars earlier, NaN at the start: shift([1, 2], 1) -> [nan, 1]."""
    out = np.full(values.shape, np.nan)
    if bars < values.shape[0]:
        out[bars:] = values[: values.shape[0] - bars]
    return out


def weighted_1221(values: np.ndarray) -> np.ndarray:
    """(x_t + 2 x_{t-1} + 2 x_{t-2} + x_{t-3}) / 6, the symmetric smoothing of Ehlers' RVI."""
    out = np.full(values.shape, np.nan)
    n = values.shape[0]
    if n >= 4:
        out[3:] = (values[3:] + 2 * values[2 : n - 1] + 2 * values[1 : n - 2] + values[: n - 3]) / 6
    return out
