"""Volatility-target sizing: the fraction per decision bar, the cap, the wait for history."""

from __future__ import annotations

import math

import numpy as np
import pytest
from numpy.testing import assert_allclose
from support.reference_engine import reference_single

from ktrdr.backtesting import VolatilityTarget, periods_per_year, simulate_positions
from ktrdr.errors import ValidationError


def realised_vol(close: np.ndarray, t: int, lookback: int, periods: float) -> float:
    returns = close[t - lookback + 1 : t + 1] / close[t - lookback : t] - 1.0
    return float(np.std(returns, ddof=1) * math.sqrt(periods))


def test_fraction_is_target_over_realised_volatility_capped(random_bars):
    bars = random_bars(80, 4)
    close = bars["close"].to_numpy()
    periods = periods_per_year(bars.index)
    sizing = VolatilityTarget(annual_vol=0.5, lookback=10, max_leverage=2.0)
    fractions = sizing.fractions(close, periods)

    assert np.isnan(fractions[:10]).all()
    for t in range(10, 80):
        expected = min(2.0, 0.5 / realised_vol(close, t, 10, periods))
        assert fractions[t] == pytest.approx(expected, rel=1e-9)


def test_no_look_ahead_in_the_fraction(random_bars):
    bars = random_bars(60, 5)
    close = bars["close"].to_numpy()
    changed = close.copy()
    changed[31:] *= 1.5
    sizing = VolatilityTarget(annual_vol=0.2, lookback=5)
    periods = periods_per_year(bars.index)
    assert_allclose(sizing.fractions(close, periods)[:31], sizing.fractions(changed, periods)[:31])


def test_entry_waits_for_the_lookback_then_sizes_from_the_decision_bar(random_bars):
    bars = random_bars(40, 6)
    sizing = VolatilityTarget(annual_vol=0.3, lookback=8, max_leverage=3.0)
    result = simulate_positions(bars, np.ones(40), sizing=sizing)

    trade = result.trades.iloc[0]
    # Decided at bar 0, but bar 7 is the last without 8 returns: the first fill is bar 9's open.
    assert trade["entry_time"] == bars.index[9]
    fraction = sizing.fractions(bars["close"].to_numpy(), periods_per_year(bars.index))[8]
    assert trade["size"] * trade["entry_price"] == pytest.approx(fraction * 100_000.0)


@pytest.mark.parametrize("seed", range(6))
def test_matches_the_reference_loop_with_volatility_sizing(seed, random_bars):
    rng = np.random.default_rng(seed)
    bars = random_bars(int(rng.integers(20, 200)), seed)
    n = len(bars)
    target = np.repeat(rng.integers(-1, 2, n), rng.integers(1, 8, n))[:n]
    sizing = VolatilityTarget(annual_vol=float(rng.uniform(0.1, 2.0)), lookback=5)
    close, periods = bars["close"].to_numpy(), periods_per_year(bars.index)
    fractions = np.full(n, np.nan)
    for t in range(5, n):
        fractions[t] = min(1.0, sizing.annual_vol / realised_vol(close, t, 5, periods))
    result = simulate_positions(bars, target, sizing=sizing, stop_loss=0.05, commission_bps=2.0)
    trades, equity = reference_single(
        bars, target, fraction=fractions, stop_loss=0.05, cost_rate=2e-4
    )
    assert len(result.trades) == len(trades)
    assert_allclose(result.trades["size"], [t["size"] for t in trades], rtol=1e-8)
    assert_allclose(result.equity, equity, rtol=1e-8)


def test_default_fixed_fraction_is_unchanged_by_sizing_none(random_bars):
    bars = random_bars(50, 7)
    target = np.sign(np.sin(np.arange(50) / 4.0))
    plain = simulate_positions(bars, target, position_fraction=0.7)
    explicit = simulate_positions(bars, target, position_fraction=0.7, sizing=None)
    assert_allclose(plain.equity, explicit.equity, rtol=0)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"annual_vol": 0.0, "lookback": 5}, "annual_vol must be a number > 0"),
        ({"annual_vol": 0.1, "lookback": 1}, "lookback must be >= 2"),
        ({"annual_vol": 0.1, "lookback": 2.5}, "lookback must be an int"),
        ({"annual_vol": 0.1, "lookback": 5, "max_leverage": -1}, "max_leverage"),
    ],
)
def test_invalid_volatility_target_names_the_field(kwargs, message):
    with pytest.raises(ValidationError, match=message):
        VolatilityTarget(**kwargs)
