"""simulate_positions against a slow, obviously-correct reference, hand cases and validation."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from numpy.testing import assert_allclose, assert_array_equal

from ktrdr.backtesting import TRADE_COLUMNS, SimulationResult, simulate_positions
from ktrdr.errors import ValidationError


def reference_simulation(bars, target, cost_rate, fraction, capital):
    """Bar-by-bar reference: returns (trade dicts, equity list), written for clarity, not speed."""
    opens, closes, times = list(bars["open"]), list(bars["close"]), list(bars.index)
    cash, units, trades, equity, open_trade = capital, 0.0, [], [], None

    def close_trade(i, price, at_end):
        exit_cost = cost_rate * abs(units) * price
        costs = open_trade["entry_cost"] + exit_cost
        pnl = units * (price - open_trade["entry_price"]) - costs
        trades.append(
            {
                "entry_time": times[open_trade["i"]],
                "exit_time": times[min(i, len(times) - 1)],
                "entry_price": open_trade["entry_price"],
                "exit_price": price,
                "direction": 1 if units > 0 else -1,
                "size": abs(units),
                "pnl": pnl,
                "return": pnl / (abs(units) * open_trade["entry_price"]),
                "costs": costs,
                "bars_held": i - open_trade["i"],
                "open_at_end": at_end,
            }
        )
        return exit_cost

    for i in range(len(opens)):
        wanted = int(target[i - 1]) if i > 0 else 0
        held = 0 if units == 0 else (1 if units > 0 else -1)
        if wanted != held:
            if held != 0:
                cash += units * opens[i] - close_trade(i, opens[i], False)
                units, open_trade = 0.0, None
            if wanted != 0 and cash > 0:
                notional = fraction * cash
                units = wanted * notional / opens[i]
                cash -= units * opens[i] + cost_rate * notional
                open_trade = {"i": i, "entry_price": opens[i], "entry_cost": cost_rate * notional}
        equity.append(cash + units * closes[i])
    if open_trade is not None:
        # Closed at the last close, paying its exit cost; the last equity point is after it.
        equity[-1] -= close_trade(len(opens), closes[-1], True)
    return trades, equity


def assert_matches_reference(result, bars, target, cost_rate, fraction, capital):
    ref_trades, ref_equity = reference_simulation(bars, target, cost_rate, fraction, capital)
    assert_allclose(result.equity.to_numpy(), ref_equity, rtol=1e-12)
    assert len(result.trades) == len(ref_trades)
    expected = pd.DataFrame(ref_trades, columns=list(TRADE_COLUMNS))
    for column in ("entry_time", "exit_time", "direction", "bars_held", "open_at_end"):
        assert_array_equal(result.trades[column].to_numpy(), expected[column].to_numpy(), column)
    for column in ("entry_price", "exit_price", "size", "pnl", "return", "costs"):
        assert_allclose(result.trades[column], expected[column], rtol=1e-10, err_msg=column)


@pytest.mark.parametrize("seed", range(12))
@pytest.mark.parametrize(("commission_bps", "slippage_bps"), [(0.0, 0.0), (10.0, 5.0)])
def test_matches_reference_on_random_positions(seed, commission_bps, slippage_bps, random_bars):
    rng = np.random.default_rng(seed)
    bars = random_bars(int(rng.integers(2, 300)), seed)
    # Sticky random positions so trades last several bars, with some reversals.
    target = np.repeat(rng.integers(-1, 2, len(bars)), rng.integers(1, 6, len(bars)))[: len(bars)]
    fraction = float(rng.choice([0.25, 1.0, 1.5]))
    result = simulate_positions(
        bars,
        target,
        commission_bps=commission_bps,
        slippage_bps=slippage_bps,
        position_fraction=fraction,
        initial_capital=50_000.0,
    )
    cost_rate = (commission_bps + slippage_bps) / 10_000
    assert_matches_reference(result, bars, target, cost_rate, fraction, 50_000.0)


def test_one_long_trade_by_hand(bars_from_prices):
    bars = bars_from_prices([100.0, 101.0, 110.0], [100.5, 105.0, 111.0])
    result = simulate_positions(bars, [1, 0, 0], commission_bps=10.0, slippage_bps=10.0)

    trade = result.trades.iloc[0]
    size = 100_000.0 / 101.0
    assert len(result.trades) == 1
    assert trade["direction"] == 1
    assert trade["entry_time"] == bars.index[1] and trade["exit_time"] == bars.index[2]
    assert trade["entry_price"] == 101.0 and trade["exit_price"] == 110.0
    assert trade["size"] == pytest.approx(size)
    assert trade["costs"] == pytest.approx(0.002 * 100_000.0 + 0.002 * size * 110.0)
    assert trade["pnl"] == pytest.approx(size * 9.0 - trade["costs"])
    assert trade["return"] == pytest.approx(trade["pnl"] / 100_000.0)
    assert trade["bars_held"] == 1 and not trade["open_at_end"]
    assert_allclose(
        result.equity,
        [100_000.0, -200.0 + size * 105.0, 100_000.0 + trade["pnl"]],
        rtol=1e-12,
    )


def test_reversal_exits_and_enters_at_the_same_open(bars_from_prices):
    bars = bars_from_prices([100.0, 100.0, 80.0, 60.0], [100.0, 90.0, 70.0, 65.0])
    result = simulate_positions(bars, [1, -1, -1, -1])

    long_trade, short_trade = result.trades.iloc[0], result.trades.iloc[1]
    assert (long_trade["direction"], short_trade["direction"]) == (1, -1)
    assert long_trade["exit_time"] == short_trade["entry_time"] == bars.index[2]
    assert long_trade["pnl"] == pytest.approx(-20_000.0)
    # The short is sized on the 80_000 equity left after the long's exit.
    assert short_trade["size"] == pytest.approx(80_000.0 / 80.0)
    assert short_trade["open_at_end"]
    assert short_trade["exit_price"] == 65.0 and short_trade["exit_time"] == bars.index[3]
    assert short_trade["pnl"] == pytest.approx(1_000.0 * 15.0)
    assert result.equity.iloc[-1] == pytest.approx(95_000.0)


def test_open_position_at_end_is_closed_at_the_last_close_with_its_exit_cost(bars_from_prices):
    bars = bars_from_prices([100.0, 100.0, 100.0], [100.0, 100.0, 100.0])
    result = simulate_positions(bars, [1, 1, 1], commission_bps=50.0)

    trade = result.trades.iloc[0]
    assert trade["open_at_end"]
    assert trade["bars_held"] == 2
    # Entry: 100_000 notional at 100 pays 500; exit: 1_000 units at the last close 100 pay 500.
    assert trade["exit_price"] == 100.0 and trade["exit_time"] == bars.index[-1]
    assert trade["costs"] == pytest.approx(1_000.0)
    assert trade["pnl"] == pytest.approx(-1_000.0)
    assert_allclose(result.equity, [100_000.0, 99_500.0, 99_000.0], rtol=1e-12)
    assert result.metrics["total_return"] == pytest.approx(-0.01)


def test_exit_cost_at_the_end_is_charged_on_the_last_close_by_hand(bars_from_prices):
    # Long from bar 1's open 100 (size 1_000, entry cost 0.002 * 100_000 = 200); the last close
    # is 110, so the exit at the end costs 0.002 * 1_000 * 110 = 220.
    bars = bars_from_prices([100.0, 100.0, 105.0], [100.0, 104.0, 110.0])
    result = simulate_positions(bars, [1, 1, 1], commission_bps=15.0, slippage_bps=5.0)

    trade = result.trades.iloc[0]
    assert trade["costs"] == pytest.approx(420.0)
    assert trade["pnl"] == pytest.approx(1_000.0 * 10.0 - 420.0)
    assert_allclose(
        result.equity,
        [100_000.0, -200.0 + 1_000.0 * 104.0, -200.0 + 1_000.0 * 110.0 - 220.0],
        rtol=1e-12,
    )
    assert result.equity.iloc[-1] == pytest.approx(100_000.0 + trade["pnl"])


def test_last_bar_target_never_fills(bars_from_prices):
    bars = bars_from_prices([100.0, 101.0, 102.0], [100.0, 101.0, 102.0])
    result = simulate_positions(bars, [0, 0, 1])

    assert result.trades.empty
    assert list(result.trades.columns) == list(TRADE_COLUMNS)
    assert_allclose(result.equity, 100_000.0)
    assert result.metrics["total_trades"] == 0
    assert result.metrics["win_rate"] is None


def test_result_shapes_and_dtypes(random_bars):
    bars = random_bars(50, 3)
    result = simulate_positions(bars, np.sign(np.sin(np.arange(50) / 3.0)).astype(int))

    assert isinstance(result, SimulationResult)
    assert result.equity.index.equals(bars.index)
    assert result.trades["direction"].dtype == np.int8
    assert result.trades["bars_held"].dtype == np.int64
    assert result.trades["open_at_end"].dtype == bool
    assert result.trades["entry_time"].dtype == bars.index.dtype
    assert result.trades["bars_held"].sum() == pytest.approx(result.metrics["exposure"] * 50)


@pytest.mark.parametrize("cut", [0, 1, 17, 48])
def test_changing_bars_after_t_never_changes_the_past(cut, random_bars):
    bars = random_bars(60, 11)
    target = np.repeat([1, 0, -1, 1, -1, 0], 10)
    changed = bars.copy()
    changed.iloc[cut + 1 :, :4] *= 1.37
    changed_target = target.copy()
    changed_target[cut + 1 :] = -changed_target[cut + 1 :]

    before = simulate_positions(bars, target, commission_bps=3.0)
    after = simulate_positions(changed, changed_target, commission_bps=3.0)

    assert_array_equal(before.equity.iloc[: cut + 1], after.equity.iloc[: cut + 1])
    done = before.trades["exit_time"] <= bars.index[cut]
    done &= ~before.trades["open_at_end"]
    pd.testing.assert_frame_equal(before.trades[done], after.trades[: int(done.sum())])


def test_equity_depleted_refuses_new_entries(caplog, bars_from_prices):
    bars = bars_from_prices(
        [100.0, 100.0, 300.0, 300.0, 300.0], [100.0, 250.0, 300.0, 300.0, 300.0]
    )
    result = simulate_positions(bars, [-1, 0, -1, -1, -1])

    assert len(result.trades) == 1
    assert result.trades.iloc[0]["pnl"] == pytest.approx(-200_000.0)
    assert_allclose(result.equity.iloc[2:], -100_000.0)
    assert "equity fell" in caplog.text


@pytest.mark.parametrize(
    ("kwargs", "names"),
    [
        ({"target_position": [0, 1]}, "target_position"),
        ({"target_position": [0, 2, 0]}, "target_position at bar 1"),
        ({"target_position": [0, 0.5, 0]}, "target_position"),
        ({"target_position": [0, np.nan, 0]}, "target_position"),
        ({"commission_bps": -1.0}, "commission_bps"),
        ({"slippage_bps": np.nan}, "slippage_bps"),
        ({"position_fraction": 0.0}, "position_fraction"),
        ({"initial_capital": -5.0}, "initial_capital"),
        ({"initial_capital": "lots"}, "initial_capital"),
    ],
)
def test_invalid_arguments_name_the_input(kwargs, names, bars_from_prices):
    bars = bars_from_prices([100.0, 101.0, 102.0], [100.0, 101.0, 102.0])
    arguments = {"target_position": [0, 1, 0], **kwargs}
    with pytest.raises(ValidationError, match=names):
        simulate_positions(bars, **arguments)


@pytest.mark.parametrize(
    ("column", "value", "message"),
    [("open", np.nan, "bars open at bar 1"), ("close", 0.0, "bars close at bar 1")],
)
def test_invalid_prices_name_the_bar(column, value, message, bars_from_prices):
    bars = bars_from_prices([100.0, 101.0, 102.0], [100.0, 101.0, 102.0])
    bars.iloc[1, bars.columns.get_loc(column)] = value
    with pytest.raises(ValidationError, match=message):
        simulate_positions(bars, [0, 1, 0])


_MALFORMED_BARS = {
    "empty": lambda bars: bars.iloc[:0],
    "not a frame": lambda bars: bars.to_numpy(),
    "no datetime index": lambda bars: bars.reset_index(drop=True),
    "no open column": lambda bars: bars.drop(columns="open"),
    "two close columns": lambda bars: pd.concat([bars, bars[["close"]]], axis=1),
}


@pytest.mark.parametrize(
    ("case", "message"),
    [
        ("empty", "bars is empty"),
        ("not a frame", "DataFrame"),
        ("no datetime index", "DatetimeIndex"),
        ("no open column", "'open'"),
        ("two close columns", "more than one 'close' column"),
    ],
)
def test_invalid_bars_are_rejected(case, message, bars_from_prices):
    bars = _MALFORMED_BARS[case](bars_from_prices([1.0, 2.0], [1.0, 2.0]))
    with pytest.raises(ValidationError, match=message):
        simulate_positions(bars, np.zeros(len(bars)))


def test_prices_of_other_dtypes_are_read_as_float64(bars_from_prices):
    floats = bars_from_prices([100.0, 101.0, 102.0, 103.0], [101.0, 102.0, 103.0, 104.0])
    target = [1, 1, 0, 0]
    expected = simulate_positions(floats, target)
    for dtype in ("int64", "float32", "Float64"):
        result = simulate_positions(floats.astype(dtype), target)
        pd.testing.assert_frame_equal(result.trades, expected.trades)
        pd.testing.assert_series_equal(result.equity, expected.equity)


def test_a_missing_price_in_a_nullable_column_names_the_bar(bars_from_prices):
    bars = bars_from_prices([100.0, 101.0, 102.0], [100.0, 101.0, 102.0]).astype("Float64")
    bars.iloc[1, bars.columns.get_loc("close")] = pd.NA
    with pytest.raises(ValidationError, match=r"bars close at bar 1 \("):
        simulate_positions(bars, [0, 1, 0])
