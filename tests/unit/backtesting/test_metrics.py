"""compute_metrics on hand-computed cases, zero trades, and the no-NaN rule."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from ktrdr.backtesting import (
    METRIC_NAMES,
    TRADE_COLUMNS,
    compute_metrics,
    periods_per_year,
    simulate_positions,
)
from ktrdr.errors import ValidationError


def test_one_losing_trade_over_three_bars(bars_from_prices):
    bars = bars_from_prices([100.0, 100.0, 95.0], [100.0, 90.0, 99.0])
    metrics = simulate_positions(bars, [1, 0, 0]).metrics

    returns = np.array([-0.1, 95_000.0 / 90_000.0 - 1.0])
    scale = math.sqrt(365.25)  # two daily intervals over two days
    assert list(metrics) == list(METRIC_NAMES)
    assert metrics["total_return"] == pytest.approx(-0.05)
    assert metrics["annualized_return"] == pytest.approx(0.95 ** (365.25 / 2) - 1.0)
    assert metrics["sharpe_ratio"] == pytest.approx(returns.mean() / returns.std(ddof=1) * scale)
    assert metrics["sortino_ratio"] == pytest.approx(returns.mean() / math.sqrt(0.01 / 2) * scale)
    assert metrics["max_drawdown"] == pytest.approx(0.1)
    assert metrics["win_rate"] == 0.0
    assert metrics["profit_factor"] == 0.0
    assert metrics["total_trades"] == 1
    assert metrics["avg_trade_return"] == pytest.approx(-0.05)
    assert metrics["exposure"] == pytest.approx(1 / 3)
    assert metrics["buy_and_hold_return"] == pytest.approx(-0.01)


def test_winning_trade_only_leaves_profit_factor_and_sortino_undefined(bars_from_prices):
    bars = bars_from_prices([100.0, 100.0, 110.0], [100.0, 105.0, 121.0])
    metrics = simulate_positions(bars, [1, 1, 1]).metrics

    assert metrics["total_return"] == pytest.approx(0.21)
    assert metrics["win_rate"] == 1.0
    assert metrics["profit_factor"] is None
    assert metrics["sortino_ratio"] is None
    assert metrics["sharpe_ratio"] is not None
    assert metrics["max_drawdown"] == 0.0
    assert metrics["exposure"] == pytest.approx(2 / 3)


def _trades(pnl, returns, bars_held):
    frame = pd.DataFrame(columns=list(TRADE_COLUMNS))
    return frame.assign(pnl=pnl, **{"return": returns}, bars_held=bars_held)


@pytest.mark.parametrize(
    ("freq", "periods", "days", "reliable"),
    [("1h", 888, 36.958333, False), ("1D", 365, 364.0, False), ("1D", 366, 365.0, True)],
)
def test_annualised_figures_say_how_many_days_they_come_from(
    freq, periods, days, reliable, bars_from_prices
):
    prices = np.linspace(100.0, 110.0, periods)
    metrics = simulate_positions(bars_from_prices(prices, prices, freq=freq), np.ones(periods))
    metrics = metrics.metrics

    assert metrics["annualized_from_days"] == pytest.approx(days)
    assert metrics["annualization_reliable"] is reliable
    assert metrics["annualized_return"] is not None  # flagged, not hidden
    assert metrics["total_return"] is not None  # the period return over those days


def test_daily_sharpe_by_hand_on_six_hourly_bars(bars_from_prices):
    bars = bars_from_prices([100.0] * 12, [100.0] * 12, freq="6h")  # 3 days, 4 bars a day
    values = [100.0, 101.0, 99.0, 102.0, 103.0, 101.0, 104.0, 100.0, 98.0, 99.0, 97.0, 105.0]
    equity = pd.Series(values, index=bars.index)
    metrics = compute_metrics(_trades([], [], []), equity, bars)

    # Bar 0 (the starting capital) and each day's last bar: 100, 102, 100, 105.
    daily = np.array([100.0, 102.0, 100.0, 105.0])
    returns = daily[1:] / daily[:-1] - 1.0
    # Three daily intervals over the 66 hours from bar 0 to the last bar.
    periods = 3 / (66 / (365.25 * 24))
    expected = returns.mean() / returns.std(ddof=1) * math.sqrt(periods)
    assert metrics["sharpe_ratio_daily"] == pytest.approx(expected)
    assert metrics["sharpe_ratio_daily"] != pytest.approx(metrics["sharpe_ratio"])


def test_daily_sharpe_equals_the_per_bar_sharpe_on_daily_bars(random_bars):
    bars = random_bars(120, 4, freq="1D")
    metrics = simulate_positions(bars, np.repeat([1, -1, 0, 1], 30), commission_bps=5.0).metrics

    assert metrics["sharpe_ratio_daily"] == pytest.approx(metrics["sharpe_ratio"])


def test_daily_sharpe_needs_two_days(bars_from_prices):
    prices = [100.0, 101.0, 99.0, 102.0]
    metrics = simulate_positions(bars_from_prices(prices, prices, freq="1h"), [1, -1, 1, 1])

    assert metrics.metrics["sharpe_ratio"] is not None
    assert metrics.metrics["sharpe_ratio_daily"] is None


def test_trade_metrics_from_a_hand_made_ledger(bars_from_prices):
    bars = bars_from_prices([100.0] * 4, [100.0, 101.0, 102.0, 101.5])
    equity = pd.Series([1_000.0, 1_100.0, 1_300.0, 1_200.0], index=bars.index)
    trades = _trades([300.0, -100.0], [0.3, -0.1], [2, 1])
    metrics = compute_metrics(trades, equity, bars)

    assert metrics["win_rate"] == 0.5
    assert metrics["profit_factor"] == pytest.approx(3.0)
    assert metrics["avg_trade_return"] == pytest.approx(0.1)
    assert metrics["exposure"] == pytest.approx(0.75)
    assert metrics["max_drawdown"] == pytest.approx(100.0 / 1_300.0)
    assert metrics["total_return"] == pytest.approx(0.2)


def test_zero_trades_give_none_ratios_not_zero(random_bars):
    bars = random_bars(40, 5)
    metrics = simulate_positions(bars, np.zeros(40)).metrics

    for name in ("win_rate", "profit_factor", "avg_trade_return", "sharpe_ratio", "sortino_ratio"):
        assert metrics[name] is None, name
    assert metrics["total_trades"] == 0
    assert metrics["total_return"] == 0.0
    assert metrics["annualized_return"] == 0.0
    assert metrics["max_drawdown"] == 0.0
    assert metrics["exposure"] == 0.0
    assert metrics["buy_and_hold_return"] == pytest.approx(
        bars.close.iloc[-1] / bars.close.iloc[0] - 1.0
    )


def test_single_bar_has_no_annualised_figures(bars_from_prices):
    metrics = simulate_positions(bars_from_prices([10.0], [11.0]), [1]).metrics

    assert metrics["annualized_return"] is None
    assert metrics["sharpe_ratio"] is None
    assert metrics["buy_and_hold_return"] == 0.0


def test_annualised_return_that_overflows_is_none(bars_from_prices):
    bars = bars_from_prices([100.0, 100.0, 100.0], [100.0, 150.0, 200.0], freq="1min")
    metrics = simulate_positions(bars, [1, 1, 1]).metrics

    assert metrics["total_return"] == pytest.approx(1.0)
    assert metrics["annualized_return"] is None
    assert metrics["sharpe_ratio"] is not None


@pytest.mark.parametrize("seed", range(8))
def test_metrics_are_never_nan_or_infinite(seed, random_bars):
    rng = np.random.default_rng(seed)
    bars = random_bars(int(rng.integers(1, 120)), seed)
    target = rng.integers(-1, 2, len(bars)) * rng.integers(0, 2)
    metrics = simulate_positions(bars, target, commission_bps=float(rng.uniform(0, 20))).metrics

    assert list(metrics) == list(METRIC_NAMES)
    assert type(metrics.pop("annualization_reliable")) is bool
    for name, value in metrics.items():
        assert value is None or (type(value) in (int, float) and math.isfinite(value)), name


@pytest.mark.parametrize(
    ("freq", "periods", "expected"),
    [("1h", 500, 8_766.0), ("1D", 30, 365.25), ("1W", 20, 365.25 / 7), ("B", 261, None)],
)
def test_periods_per_year_counts_observed_bars(freq, periods, expected):
    index = pd.date_range("2021-01-01", periods=periods, freq=freq, tz="UTC")
    result = periods_per_year(index)

    if expected is None:  # business days: weekends are gaps, not bars
        assert 255 < result < 262
    else:
        assert result == pytest.approx(expected)


def test_mismatched_equity_is_rejected(random_bars):
    bars = random_bars(10, 1)
    equity = pd.Series(np.full(9, 1.0))
    with pytest.raises(ValidationError, match="equity has 9 points"):
        compute_metrics(_trades([], [], []), equity, bars)
