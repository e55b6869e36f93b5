"""simulate_portfolio: one symbol equals the single run; several match the reference loop."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from numpy.testing import assert_allclose, assert_array_equal
from support.reference_engine import reference_portfolio

from ktrdr.backtesting import VolatilityTarget, simulate_portfolio, simulate_positions
from ktrdr.errors import ValidationError


def sticky_targets(rng, n):
    return np.repeat(rng.integers(-1, 2, n), rng.integers(1, 8, n))[:n]


@pytest.mark.parametrize("seed", range(4))
def test_one_symbol_of_weight_w_equals_the_single_run_exactly(seed, random_bars):
    rng = np.random.default_rng(seed)
    bars = random_bars(int(rng.integers(20, 300)), seed)
    target = sticky_targets(rng, len(bars))
    w = float(rng.choice([0.3, 1.0, 1.7]))
    costs = {"commission_bps": 4.0, "spread_bps": 3.0, "financing_bps_per_day": 2.0}
    exits = {"stop_loss": 0.03, "take_profit": 0.05, "trailing_stop": 0.04}
    single = simulate_positions(bars, target, position_fraction=w, **costs, **exits)
    book = simulate_portfolio({"X": bars}, {"X": target}, weights={"X": w}, **costs, **exits)

    assert_array_equal(book.equity.to_numpy(), single.equity.to_numpy())
    pd.testing.assert_frame_equal(book.trades.drop(columns="symbol"), single.trades)
    assert book.metrics == single.metrics
    assert book.symbol_metrics.loc["X", "total_trades"] == single.metrics["total_trades"]


def test_one_symbol_with_volatility_sizing_equals_the_single_run(random_bars):
    bars = random_bars(150, 9)
    target = sticky_targets(np.random.default_rng(9), len(bars))
    sizing = VolatilityTarget(annual_vol=0.8, lookback=12, max_leverage=1.5)
    single = simulate_positions(bars, target, sizing=sizing, stop_loss=0.04)
    book = simulate_portfolio(
        {"X": bars}, {"X": target}, weights=1.0, sizing=sizing, stop_loss=0.04
    )
    assert_array_equal(book.equity.to_numpy(), single.equity.to_numpy())
    assert book.metrics == single.metrics


@pytest.mark.parametrize("seed", range(6))
def test_several_symbols_match_the_reference_loop_trade_by_trade(seed, random_bars):
    rng = np.random.default_rng(seed)
    bars = {}
    for name in ("A", "B", "C"):
        frame = random_bars(int(rng.integers(30, 120)), int(rng.integers(1_000)))
        keep = rng.random(len(frame)) < 0.8
        keep[0] = True
        bars[name] = frame[keep]  # each symbol misses some timestamps of the others
    targets = {name: sticky_targets(rng, len(frame)) for name, frame in bars.items()}
    weights = {"A": 0.5, "B": 0.3, "C": 0.4}
    commission = {"A": 2.0, "B": 5.0, "C": 0.0}
    stops = {"A": 0.03, "B": None, "C": rng.uniform(0.01, 0.05, len(bars["C"]))}
    result = simulate_portfolio(
        bars, targets, weights=weights, commission_bps=commission, stop_loss=stops,
        take_profit=0.06, financing_bps_per_day=1.0,
    )  # fmt: skip
    ref_trades, ref_equity, union, order = reference_portfolio(
        bars, targets, weights=weights,
        cost_rate={k: v / 1e4 for k, v in commission.items()},
        financing_per_day=dict.fromkeys(bars, 1e-4),
        exits={k: {"stop_loss": stops[k], "take_profit": 0.06} for k in bars},
    )  # fmt: skip
    assert result.equity.index.equals(union)
    assert_allclose(result.equity.to_numpy(), ref_equity, rtol=1e-10)
    key = ["exit_time", "symbol", "entry_time"]
    expected = pd.DataFrame(ref_trades).sort_values(
        key, key=lambda c: c.map(order) if c.name == "symbol" else c
    )
    trades = result.trades.astype({"symbol": str, "exit_reason": str})
    trades = trades.sort_values(key, key=lambda c: c.map(order) if c.name == "symbol" else c)
    assert len(trades) == len(expected)
    for column in ("symbol", "entry_time", "exit_time", "direction", "bars_held", "exit_reason"):
        assert_array_equal(trades[column].to_numpy(), expected[column].to_numpy(), column)
    for column in ("entry_price", "exit_price", "size", "pnl", "costs"):
        assert_allclose(trades[column], expected[column], rtol=1e-10, err_msg=column)
    per_symbol = result.symbol_metrics
    for name in bars:
        mine = trades[trades["symbol"] == name]
        assert per_symbol.loc[name, "total_trades"] == len(mine)
        assert per_symbol.loc[name, "total_pnl"] == pytest.approx(mine["pnl"].sum())


def test_shared_cash_sizes_the_second_entry_on_total_equity(bars_from_prices):
    a = bars_from_prices([100.0, 100.0, 110.0, 110.0], [100.0, 100.0, 110.0, 110.0])
    b = bars_from_prices([50.0, 50.0, 50.0, 50.0], [50.0, 50.0, 50.0, 50.0])
    result = simulate_portfolio(
        {"A": a, "B": b}, {"A": [1, 1, 1, 1], "B": [0, 1, 1, 1]}, weights=0.5
    )
    entries = result.trades.set_index("symbol")
    # A buys 0.5 * 100_000 at bar 1's open 100. At bar 2's open B enters with 0.5 x (cash
    # 50_000 + A's 500 units at A's last close 100) = 50_000 at 50: 1_000 units.
    assert entries.loc["A", "size"] == pytest.approx(500.0)
    assert entries.loc["B", "size"] == pytest.approx(1_000.0)
    assert result.equity.iloc[-1] == pytest.approx(105_000.0)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"weights": {"A": 0.5}}, "weights must name exactly the symbols"),
        ({"weights": -1.0}, "weights\\['A'\\] must be a finite number"),
        ({"targets_by_symbol": {"A": [0, 1]}}, "targets_by_symbol\\['A'\\] has shape"),
        ({"stop_loss": {"A": 2.0, "B": None}}, "stop_loss\\['A'\\] must be a fraction"),
        ({"commission_bps": {"A": 1.0, "B": -1.0}}, "commission_bps"),
    ],
)
def test_invalid_arguments_name_the_input(kwargs, message, bars_from_prices):
    bars = bars_from_prices([1.0, 1.0, 1.0], [1.0, 1.0, 1.0])
    arguments = {
        "bars_by_symbol": {"A": bars, "B": bars},
        "targets_by_symbol": {"A": [0, 1, 0], "B": [0, 0, 0]},
        "weights": 0.5,
        **kwargs,
    }
    if "targets_by_symbol" in kwargs:
        arguments["targets_by_symbol"] = {**kwargs["targets_by_symbol"], "B": [0, 0, 0]}
    with pytest.raises(ValidationError, match=message):
        simulate_portfolio(**arguments)
