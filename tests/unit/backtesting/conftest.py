"""Bars builders shared by the backtesting tests."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pandas as pd
import pytest


def make_bars(
    opens: list[float] | np.ndarray,
    closes: list[float] | np.ndarray,
    *,
    start: str = "2024-01-01",
    freq: str = "1D",
) -> pd.DataFrame:
    """Build a contract-shaped bars frame from opens and closes (high/low envelope them)."""
    opens = np.asarray(opens, dtype=np.float64)
    closes = np.asarray(closes, dtype=np.float64)
    index = pd.date_range(start, periods=len(opens), freq=freq, tz="UTC", name="timestamp")
    return pd.DataFrame(
        {
            "open": opens,
            "high": np.maximum(opens, closes) * 1.01,
            "low": np.minimum(opens, closes) * 0.99,
            "close": closes,
            "volume": np.full(len(opens), 1_000.0),
        },
        index=index,
    )


def random_walk_bars(n: int, seed: int, *, freq: str = "1h") -> pd.DataFrame:
    """Seeded geometric random-walk bars with an overnight-style gap between close and open."""
    rng = np.random.default_rng(seed)
    closes = 100.0 * np.exp(np.cumsum(rng.normal(0.0, 0.02, n)))
    opens = np.concatenate([[100.0], closes[:-1]]) * np.exp(rng.normal(0.0, 0.005, n))
    return make_bars(opens, closes, freq=freq)


@pytest.fixture
def bars_from_prices() -> Callable[..., pd.DataFrame]:
    """The :func:`make_bars` builder."""
    return make_bars


@pytest.fixture
def random_bars() -> Callable[..., pd.DataFrame]:
    """The :func:`random_walk_bars` builder."""
    return random_walk_bars
