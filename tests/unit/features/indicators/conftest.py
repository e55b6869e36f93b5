"""A seeded random-walk OHLCV fixture and plain-Python reference formulas (loops, no TA-Lib)."""

from __future__ import annotations

import math
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest

N_BARS = 2000  # longer than the longest default warm-up tested (talib.KAMA: 1413 bars)
NAN = math.nan


def random_walk_bars(n: int = N_BARS, seed: int = 7) -> pd.DataFrame:
    """Hourly bars of a geometric random walk with consistent open/high/low/close and volume."""
    rng = np.random.default_rng(seed)
    close = 100.0 * np.exp(np.cumsum(rng.normal(0.0, 0.01, n)))
    open_ = np.concatenate([[100.0], close[:-1]]) * (1 + rng.normal(0.0, 0.001, n))
    high = np.maximum(open_, close) * (1 + rng.uniform(0.0, 0.006, n))
    low = np.minimum(open_, close) * (1 - rng.uniform(0.0, 0.006, n))
    volume = rng.uniform(100.0, 1000.0, n)
    index = pd.date_range("2021-01-04", periods=n, freq="h", tz="UTC", name="timestamp")
    return pd.DataFrame(
        {"open": open_, "high": high, "low": low, "close": close, "volume": volume}, index=index
    )


@pytest.fixture(scope="session")
def bars() -> pd.DataFrame:
    return random_walk_bars()


def _sma(x, n):
    out = [NAN] * len(x)
    for i in range(n - 1, len(x)):
        window = x[i - n + 1 : i + 1]
        out[i] = sum(window) / n
    return out


def _ema(x, n):
    """EMA seeded with the SMA of the first n valid values (TA-Lib's default)."""
    out = [NAN] * len(x)
    first = next((i for i, v in enumerate(x) if not math.isnan(v)), len(x))
    if first + n > len(x):
        return out
    value = sum(x[first : first + n]) / n
    out[first + n - 1] = value
    k = 2.0 / (n + 1)
    for i in range(first + n, len(x)):
        value = value + k * (x[i] - value)
        out[i] = value
    return out


def _wma(x, n):
    out = [NAN] * len(x)
    for i in range(n - 1, len(x)):
        out[i] = sum((j + 1) * x[i - n + 1 + j] for j in range(n)) / (n * (n + 1) / 2)
    return out


def _pstd(x, n):
    out = [NAN] * len(x)
    for i in range(n - 1, len(x)):
        window = x[i - n + 1 : i + 1]
        mean = sum(window) / n
        out[i] = math.sqrt(sum((v - mean) ** 2 for v in window) / n)
    return out


def _true_range(high, low, close):
    tr = [NAN] * len(close)
    for i in range(1, len(close)):
        tr[i] = max(high[i] - low[i], abs(high[i] - close[i - 1]), abs(low[i] - close[i - 1]))
    return tr


def _atr(high, low, close, n):
    """Wilder ATR: mean of the first n true ranges, then atr = (atr * (n - 1) + tr) / n."""
    tr = _true_range(high, low, close)
    out = [NAN] * len(close)
    if n >= len(close):
        return out
    value = sum(tr[1 : n + 1]) / n
    out[n] = value
    for i in range(n + 1, len(close)):
        value = (value * (n - 1) + tr[i]) / n
        out[i] = value
    return out


def _highest(x, n):
    return [NAN] * (n - 1) + [max(x[i - n + 1 : i + 1]) for i in range(n - 1, len(x))]


def _lowest(x, n):
    return [NAN] * (n - 1) + [min(x[i - n + 1 : i + 1]) for i in range(n - 1, len(x))]


@pytest.fixture(scope="session")
def ref() -> SimpleNamespace:
    """Reference building blocks written as loops over Python lists."""
    return SimpleNamespace(
        sma=_sma,
        ema=_ema,
        wma=_wma,
        pstd=_pstd,
        true_range=_true_range,
        atr=_atr,
        highest=_highest,
        lowest=_lowest,
    )


@pytest.fixture(scope="session")
def columns(bars) -> SimpleNamespace:
    """The fixture's columns as Python lists, for the reference loops."""
    return SimpleNamespace(**{name: bars[name].tolist() for name in bars.columns})


def assert_matches(ours: np.ndarray, expected: list[float], warmup: int) -> None:
    """Compare after the warm-up; both must be finite there."""
    expected_array = np.asarray(expected, dtype=np.float64)
    assert np.isfinite(ours[warmup:]).all()
    np.testing.assert_allclose(ours[warmup:], expected_array[warmup:], rtol=1e-9, atol=1e-9)


@pytest.fixture(scope="session")
def check():
    return assert_matches
