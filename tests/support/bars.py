"""Small canonical OHLCV frames."""

from __future__ import annotations

import numpy as np
import pandas as pd


def random_walk_bars(
    n: int, *, freq: str = "1h", seed: int = 3, start: str = "2020-01-06"
) -> pd.DataFrame:
    """Seeded OHLCV bars with a realistic shape (high/low around open/close, volume > 0)."""
    rng = np.random.default_rng(seed)
    close = 100 * np.exp(np.cumsum(rng.normal(0, 0.004, n)))
    open_ = np.concatenate([[100.0], close[:-1]]) * (1 + rng.normal(0, 0.0005, n))
    spread = np.abs(rng.normal(0, 0.002, n)) * close
    high = np.maximum(open_, close) + spread
    low = np.minimum(open_, close) - spread
    volume = rng.integers(100, 10_000, n).astype(float)
    index = pd.date_range(start, periods=n, freq=freq, tz="UTC", name="timestamp")
    return pd.DataFrame(
        {"open": open_, "high": high, "low": low, "close": close, "volume": volume}, index=index
    )


def trending_bars(
    n: int, *, drift: float, seed: int = 4, start: str = "2020-01-06"
) -> pd.DataFrame:
    """Seeded hourly OHLCV bars whose log close drifts by ``drift`` a bar (noise 0.4 %)."""
    rng = np.random.default_rng(seed)
    close = 100 * np.exp(np.cumsum(rng.normal(drift, 0.004, n)))
    open_ = np.concatenate([[100.0], close[:-1]])
    spread = np.abs(rng.normal(0, 0.002, n)) * close
    index = pd.date_range(start, periods=n, freq="1h", tz="UTC", name="timestamp")
    return pd.DataFrame(
        {
            "open": open_,
            "high": np.maximum(open_, close) + spread,
            "low": np.minimum(open_, close) - spread,
            "close": close,
            "volume": rng.integers(100, 10_000, n).astype(float),
        },
        index=index,
    )
