"""Stops, targets and trailing stops (DESIGN §12): hand cases and the plain-Python reference."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from numpy.testing import assert_allclose, assert_array_equal
from support.reference_engine import reference_single

from ktrdr.backtesting import simulate_positions
from ktrdr.errors import ValidationError


def ohlc(rows: list[tuple[float, float, float, float]]) -> pd.DataFrame:
    """Daily bars from (open, high, low, close) rows."""
    frame = pd.DataFrame(rows, columns=["open", "high", "low", "close"])
    frame.index = pd.date_range("2024-01-01", periods=len(rows), freq="1D", tz="UTC")
    return frame


def assert_trades_match(result, ref_trades, ref_equity):
    """Trade by trade: times, prices, direction, size, pnl, costs, reason; equity at every bar."""
    trades = result.trades
    assert len(trades) == len(ref_trades)
    expected = pd.DataFrame(ref_trades, columns=[*trades.columns])
    for column in ("entry_time", "exit_time", "direction", "bars_held", "open_at_end"):
        assert_array_equal(trades[column].to_numpy(), expected[column].to_numpy(), column)
    assert list(trades["exit_reason"].astype(str)) == list(expected["exit_reason"])
    for column in ("entry_price", "exit_price", "size", "pnl", "return", "costs"):
        assert_allclose(trades[column], expected[column], rtol=1e-10, err_msg=column)
    assert_allclose(result.equity.to_numpy(), ref_equity, rtol=1e-10)


def test_long_stop_touched_intrabar_fills_at_the_stop():
    bars = ohlc([(100, 101, 99, 100), (100, 102, 97.5, 99), (99, 100, 98, 99)])
    result = simulate_positions(bars, [1, 1, 1], stop_loss=0.02)

    trade = result.trades.iloc[0]
    assert trade["exit_reason"] == "stop" and trade["exit_price"] == pytest.approx(98.0)
    assert trade["exit_time"] == bars.index[1] and trade["bars_held"] == 0
    # Flat after the stop while the target stays +1: no second trade.
    assert len(result.trades) == 1
    assert result.equity.iloc[-1] == pytest.approx(98_000.0)


def test_gap_through_the_stop_fills_at_the_open():
    bars = ohlc([(100, 101, 99, 100), (100, 101, 99.5, 100), (97, 97.5, 96, 97)])
    trade = simulate_positions(bars, [1, 1, 1], stop_loss=0.02).trades.iloc[0]
    assert trade["exit_reason"] == "stop" and trade["exit_price"] == 97.0
    assert trade["exit_time"] == bars.index[2]


def test_same_bar_stop_and_target_is_a_stop():
    bars = ohlc([(100, 100, 100, 100), (100, 106, 97, 100)])
    trade = simulate_positions(bars, [1, 1], stop_loss=0.02, take_profit=0.05).trades.iloc[0]
    assert trade["exit_reason"] == "stop" and trade["exit_price"] == pytest.approx(98.0)


def test_short_target_and_gap_mirror_the_long():
    bars = ohlc([(100, 100, 100, 100), (100, 101, 95, 96), (90, 91, 89, 90)])
    trade = simulate_positions(bars, [-1, -1, -1], take_profit=0.04).trades.iloc[0]
    assert trade["direction"] == -1 and trade["exit_reason"] == "take_profit"
    assert trade["exit_price"] == pytest.approx(96.0)
    gap = ohlc([(100, 100, 100, 100), (100, 100.5, 99, 100), (90, 91, 89, 90)])
    trade = simulate_positions(gap, [-1, -1, -1], take_profit=0.04).trades.iloc[0]
    assert trade["exit_price"] == 90.0 and trade["exit_time"] == gap.index[2]


def test_trailing_stop_follows_earlier_highs_and_binds_when_tighter():
    # Entry 100; bar 1 high 110 -> from bar 2 the trailing level is 110 * 0.95 = 104.5.
    bars = ohlc([(100, 100, 100, 100), (100, 110, 99, 108), (108, 109, 104, 105)])
    trade = simulate_positions(bars, [1, 1, 1], stop_loss=0.10, trailing_stop=0.05).trades.iloc[0]
    assert trade["exit_reason"] == "trailing_stop"
    assert trade["exit_price"] == pytest.approx(104.5)
    # The current bar's own high never raises its own trailing level.
    same = ohlc([(100, 100, 100, 100), (100, 110, 94, 108)])
    result = simulate_positions(same, [1, 1], trailing_stop=0.05)
    assert result.trades.iloc[0]["exit_reason"] == "trailing_stop"
    assert result.trades.iloc[0]["exit_price"] == pytest.approx(95.0)


def test_flat_after_an_exit_until_the_target_changes():
    bars = ohlc([(100, 100, 100, 100)] + [(100, 100.5, 97, 100)] + [(100, 100.5, 99.5, 100)] * 4)
    result = simulate_positions(bars, [1, 1, 0, 1, 1, 1], stop_loss=0.02)
    assert list(result.trades["exit_reason"]) == ["stop", "end"]
    assert result.trades.iloc[1]["entry_time"] == bars.index[4]


def test_costs_are_paid_on_the_stop_fill():
    bars = ohlc([(100, 100, 100, 100), (100, 100, 97, 98)])
    trade = simulate_positions(bars, [1, 1], stop_loss=0.02, commission_bps=10).trades.iloc[0]
    assert trade["costs"] == pytest.approx(0.001 * 100_000 + 0.001 * 1_000 * 98)


def test_spread_and_financing_by_hand():
    # Thu 2024-01-04, Fri 01-05, Mon 01-08, Tue 01-09: long from Friday's open at 100 (1_000 units).
    frame = ohlc([(100, 100, 100, 100)] * 4)
    frame.index = pd.DatetimeIndex(
        ["2024-01-04", "2024-01-05", "2024-01-08", "2024-01-09"], tz="UTC"
    )
    result = simulate_positions(
        frame, [1, 1, 1, 1], spread_bps=4.0, financing_bps_per_day=5.0, position_fraction=1.0
    )
    trade = result.trades.iloc[0]
    # Half the 4 bp spread per fill: 2 bp of 100_000 in, 2 bp of 100_000 out at the end.
    # Financing: 5 bp a day on 100_000 held at Friday's close until Monday's (3 days, 150) and
    # at Monday's close until Tuesday's (1 day, 50); none at Tuesday's, the last, where it closes.
    assert trade["costs"] == pytest.approx(20.0 + 150.0 + 50.0 + 20.0)
    assert result.equity.iloc[1] == pytest.approx(100_000.0 - 20.0 - 150.0)
    assert result.equity.iloc[2] == pytest.approx(100_000.0 - 20.0 - 200.0)
    assert result.equity.iloc[-1] == pytest.approx(100_000.0 - 240.0)


def test_a_position_held_over_the_weekend_pays_the_weekend():
    # Long from Friday's open, out at Monday's open: held over the weekend, so 3 days (150).
    frame = ohlc([(100, 100, 100, 100)] * 4)
    frame.index = pd.DatetimeIndex(
        ["2024-01-04", "2024-01-05", "2024-01-08", "2024-01-09"], tz="UTC"
    )
    result = simulate_positions(frame, [1, 0, 0, 0], financing_bps_per_day=5.0)
    assert result.trades.iloc[0]["costs"] == pytest.approx(150.0)
    assert result.equity.iloc[-1] == pytest.approx(100_000.0 - 150.0)
    # Long from Monday's open to Tuesday's: 1 day (Monday -> Tuesday), not the weekend.
    result = simulate_positions(frame, [0, 0, 1, 0], financing_bps_per_day=5.0)
    assert result.trades.iloc[0]["costs"] == pytest.approx(0.0)  # entered at the last open
    result = simulate_positions(frame, [0, 1, 0, 0], financing_bps_per_day=5.0)
    assert result.trades.iloc[0]["costs"] == pytest.approx(50.0)


def test_per_bar_fractions_use_the_decision_bar():
    bars = ohlc([(100, 100, 100, 100), (100, 100, 100, 100), (100, 100, 96.5, 100)])
    # Entry at bar 1 decided at bar 0 (no stop there); a stop decided at bar 1 is not used.
    result = simulate_positions(bars, [1, 1, 1], stop_loss=[np.nan, 0.03, 0.03])
    assert result.trades.iloc[0]["exit_reason"] == "end"
    result = simulate_positions(bars, [1, 1, 1], stop_loss=[0.03, np.nan, np.nan])
    assert result.trades.iloc[0]["exit_reason"] == "stop"


@pytest.mark.parametrize("seed", range(16))
def test_matches_the_reference_loop_trade_by_trade(seed, random_bars):
    rng = np.random.default_rng(seed)
    bars = random_bars(int(rng.integers(2, 250)), seed)
    n = len(bars)
    target = np.repeat(rng.integers(-1, 2, n), rng.integers(1, 8, n))[:n]
    exits = {}
    for name in ("stop_loss", "take_profit", "trailing_stop"):
        kind = rng.integers(0, 3)
        if kind == 1:
            exits[name] = float(rng.uniform(0.005, 0.06))
        elif kind == 2:
            values = rng.uniform(0.005, 0.06, n)
            values[rng.random(n) < 0.3] = np.nan
            exits[name] = values
    fraction = float(rng.choice([0.5, 1.0, 1.5]))
    commission, spread, financing = (float(x) for x in rng.choice([0.0, 3.0, 10.0], 3))
    result = simulate_positions(
        bars, target, commission_bps=commission, spread_bps=spread,
        financing_bps_per_day=financing, position_fraction=fraction, **exits,
    )  # fmt: skip
    ref_trades, ref_equity = reference_single(
        bars, target, cost_rate=(commission + spread / 2) / 1e4,
        financing_per_day=financing / 1e4, fraction=fraction, **exits,
    )  # fmt: skip
    assert_trades_match(result, ref_trades, ref_equity)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"stop_loss": 0.0}, "stop_loss must be a fraction in \\(0, 1\\), got 0.0"),
        ({"take_profit": 1.5}, "take_profit must be a fraction in \\(0, 1\\), got 1.5"),
        ({"trailing_stop": -0.1}, "trailing_stop"),
        ({"stop_loss": [0.1, 0.1]}, "stop_loss must be None, a fraction"),
        ({"stop_loss": "tight"}, "stop_loss"),
        ({"spread_bps": -1}, "spread_bps"),
        ({"financing_bps_per_day": np.inf}, "financing_bps_per_day"),
        ({"sizing": 0.5}, "sizing must be None, a VolatilityTarget or an array"),
    ],
)
def test_invalid_exit_and_cost_arguments_name_the_input(kwargs, message):
    bars = ohlc([(100, 101, 99, 100)] * 3)
    with pytest.raises(ValidationError, match=message):
        simulate_positions(bars, [1, 1, 1], **kwargs)


def test_exits_need_high_and_low():
    bars = ohlc([(100, 101, 99, 100)] * 3).drop(columns="low")
    with pytest.raises(ValidationError, match="'low' column, which stop_loss"):
        simulate_positions(bars, [1, 1, 1], stop_loss=0.1)
    bad = ohlc([(100, 101, 99, 100)] * 3)
    bad.iloc[1, bad.columns.get_loc("high")] = np.nan
    with pytest.raises(ValidationError, match="high and low at bar 1"):
        simulate_positions(bad, [1, 1, 1], take_profit=0.1)
