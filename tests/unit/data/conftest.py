"""Small canonical OHLCV frames for the data tests."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest


def _make_bars(start: str, periods: int, freq: str, *, first_open: float = 100.0) -> pd.DataFrame:
    """Valid bars: open i+100, close i+100.5, high close+1, low open-1, volume 10*(i+1)."""
    index = pd.date_range(start, periods=periods, freq=freq, tz="UTC", name="timestamp")
    step = np.arange(periods, dtype=np.float64)
    opens = first_open + step
    closes = opens + 0.5
    return pd.DataFrame(
        {
            "open": opens,
            "high": closes + 1.0,
            "low": opens - 1.0,
            "close": closes,
            "volume": 10.0 * (step + 1),
        },
        index=index,
    )


@pytest.fixture
def make_bars():
    """The bars factory: make_bars(start, periods, freq) -> valid bars."""
    return _make_bars


@pytest.fixture
def hourly() -> pd.DataFrame:
    """Ten 1h bars from Wednesday 2024-01-03 08:00 UTC."""
    return _make_bars("2024-01-03 08:00", 10, "h")


@pytest.fixture
def data_dir(tmp_path):
    """An empty repository directory."""
    return tmp_path / "data"
