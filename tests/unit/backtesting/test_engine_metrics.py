"""The simulator's numba metrics equal the pandas reference compute_metrics, bit for bit."""

from __future__ import annotations

import numpy as np
import pytest

from ktrdr.backtesting import compute_metrics, simulate_positions


@pytest.mark.parametrize("seed", range(6))
@pytest.mark.parametrize("freq", ["1h", "1D"])
def test_numba_metrics_equal_compute_metrics_exactly(seed, freq, random_bars):
    rng = np.random.default_rng(seed)
    bars = random_bars(int(rng.choice([2, 3, 90, 400, 3_000])), seed, freq=freq)
    if seed % 2:
        bars.index = bars.index.tz_convert("America/New_York")
    target = np.repeat(rng.integers(-1, 2, len(bars)), rng.integers(1, 6, len(bars)))[: len(bars)]
    result = simulate_positions(bars, target, commission_bps=5.0, stop_loss=0.03)
    expected = compute_metrics(result.trades, result.equity, bars)
    assert result.metrics == expected
    assert list(result.metrics) == list(expected)
