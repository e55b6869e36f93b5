"""Down-sampling long series for drawing: keep every bucket's extremes, never for the numbers."""

from __future__ import annotations

import numpy as np
import pandas as pd

MAX_LINE_POINTS = 4_000  # per drawn line: a laptop screen is ~1,300 px wide
MAX_CANDLES = 1_200


def min_max_indices(values: np.ndarray, max_points: int = MAX_LINE_POINTS) -> np.ndarray:
    """Sorted positions of the points to draw: first, last, and each bucket's min and max.

    With ``n <= max_points`` every position is kept. Otherwise the series is cut into
    ``max_points // 2`` equal buckets and each contributes its lowest and highest point, so a
    1,000,000-point equity curve keeps its peaks and troughs (a drawdown's bottom is never
    averaged away) in at most ``max_points + 2`` points.
    """
    data = np.asarray(values, dtype=np.float64)
    n = len(data)
    if n <= max_points:
        return np.arange(n)
    buckets = max(1, max_points // 2)
    width = -(-n // buckets)  # ceil
    padded = np.pad(data, (0, buckets * width - n), mode="edge").reshape(buckets, width)
    # NaN never wins a bucket: it sorts as -inf for the max and +inf for the min.
    lows = np.where(np.isnan(padded), np.inf, padded).argmin(axis=1)
    highs = np.where(np.isnan(padded), -np.inf, padded).argmax(axis=1)
    starts = np.arange(buckets) * width
    chosen = np.concatenate([[0, n - 1], starts + lows, starts + highs])
    return np.unique(np.minimum(chosen, n - 1))


def downsample_series(series: pd.Series, max_points: int = MAX_LINE_POINTS) -> pd.Series:
    """``series`` reduced to at most ``max_points + 2`` points by :func:`min_max_indices`."""
    return series.iloc[min_max_indices(series.to_numpy(), max_points)]


def downsample_ohlc(bars: pd.DataFrame, max_candles: int = MAX_CANDLES) -> pd.DataFrame:
    """Bars merged into at most ``max_candles`` candles: first open, highest high, lowest low,
    last close of each run of consecutive bars, stamped with the run's first bar."""
    n = len(bars)
    if n <= max_candles:
        return bars[["open", "high", "low", "close"]]
    starts = np.linspace(0, n, max_candles, endpoint=False).astype(np.int64)
    starts = np.unique(starts)
    ends = np.append(starts[1:], n) - 1
    return pd.DataFrame(
        {
            "open": bars["open"].to_numpy()[starts],
            "high": np.maximum.reduceat(bars["high"].to_numpy(), starts),
            "low": np.minimum.reduceat(bars["low"].to_numpy(), starts),
            "close": bars["close"].to_numpy()[ends],
        },
        index=bars.index[starts],
    )
