"""A strategy's exits, sizing and costs as simulator arguments, with no look-ahead."""

from __future__ import annotations

import numpy as np
from support.bars import random_walk_bars
from support.strategies import make_strategy

from ktrdr.backtesting.execution_plan import (
    exit_levels,
    sizing_arguments,
    sizing_fractions,
    sizing_on,
    symbol_costs,
)
from ktrdr.backtesting.markets import TradedMarket, trade_markets
from ktrdr.backtesting.metrics import periods_per_year
from ktrdr.backtesting.sizing import VolatilityTarget
from ktrdr.backtesting.stitching import FoldInput, simulate_folds, simulate_portfolio_folds
from ktrdr.features.labels import ewm_volatility
from ktrdr.strategy import strategy_to_dict, validate_strategy

TRIPLE_BARRIER = {
    "source": "triple_barrier",
    "pt_multiplier": 2.0,
    "sl_multiplier": 1.5,
    "max_holding_period": 12,
    "vol_span": 10,
}


def strategy_with(decisions: dict, labels: dict | None = None, backtest: dict | None = None):
    data = strategy_to_dict(
        make_strategy({"rsi_14": {"type": "rsi", "period": 14}}, [{"raw_indicator": "rsi_14"}])
    )
    data["decisions"].update(decisions)
    if labels is not None:
        data["training"]["labels"] = labels
    if backtest is not None:
        data["backtest"] = backtest
    return validate_strategy(data)


def test_no_exits_and_fixed_fractions_pass_through() -> None:
    bars = random_walk_bars(50)
    assert exit_levels(strategy_with({}), bars).on(bars.index) == {
        "stop_loss": None,
        "take_profit": None,
        "trailing_stop": None,
    }
    fixed = strategy_with({"exits": {"stop_loss": 0.02, "trailing_stop": 0.03}})
    assert exit_levels(fixed, bars).on(bars.index[10:]) == {
        "stop_loss": 0.02,
        "take_profit": None,
        "trailing_stop": 0.03,
    }


def test_exits_from_labels_are_the_labels_barriers_at_the_decision_bar() -> None:
    bars = random_walk_bars(300)
    strategy = strategy_with({"exits": {"from_labels": True}}, labels=TRIPLE_BARRIER)
    traded = bars.index[100:]
    exits = exit_levels(strategy, bars).on(traded)
    volatility = ewm_volatility(bars["close"].to_numpy(), 10)[100:]
    np.testing.assert_allclose(exits["stop_loss"], 1.5 * volatility)
    np.testing.assert_allclose(exits["take_profit"], 2.0 * volatility)
    assert exits["trailing_stop"] is None
    assert np.all(np.isfinite(exits["stop_loss"]))


def test_exits_from_labels_use_no_later_bar() -> None:
    bars = random_walk_bars(300)
    strategy = strategy_with({"exits": {"from_labels": True}}, labels=TRIPLE_BARRIER)
    changed = bars.copy()
    changed.iloc[200:, :4] *= 1.5  # a jump after bar 199 must not move any earlier level
    before = exit_levels(strategy, bars).on(bars.index)
    after = exit_levels(strategy, changed).on(bars.index)
    np.testing.assert_array_equal(before["stop_loss"][:200], after["stop_loss"][:200])
    assert not np.allclose(before["stop_loss"][200:], after["stop_loss"][200:])


def test_exits_from_labels_are_nan_during_the_volatility_warmup() -> None:
    bars = random_walk_bars(40)
    strategy = strategy_with({"exits": {"from_labels": True}}, labels=TRIPLE_BARRIER)
    stops = exit_levels(strategy, bars).on(bars.index)["stop_loss"]
    assert np.isnan(stops[:10]).all() and np.isfinite(stops[11:]).all()


def test_sizing_arguments() -> None:
    assert sizing_arguments(strategy_with({})) == {"position_fraction": 1.0, "sizing": None}
    half = strategy_with({"sizing": {"fixed_fraction": 0.5}})
    assert sizing_arguments(half, weight=0.5) == {"position_fraction": 0.25, "sizing": None}
    targeted = strategy_with(
        {"sizing": {"volatility_target": {"annual_vol": 0.1, "lookback": 20}, "max_leverage": 2}}
    )
    assert sizing_arguments(targeted)["sizing"] == VolatilityTarget(
        annual_vol=0.1, lookback=20, max_leverage=2.0
    )


def test_symbol_costs_take_the_symbols_override() -> None:
    costs = {
        "commission_bps": 1.0,
        "slippage_bps": 0.5,
        "per_symbol": {"BTCUSD": {"spread_bps": 8}},
    }
    assert symbol_costs(costs, "BTCUSD") == {
        "commission_bps": 1.0,
        "slippage_bps": 0.5,
        "spread_bps": 8.0,
        "financing_bps_per_day": 0.0,
    }
    assert symbol_costs(costs, "EURUSD")["spread_bps"] == 0.0


def test_the_arguments_run_the_engine_with_label_exits() -> None:
    bars = random_walk_bars(400)
    strategy = strategy_with(
        {"exits": {"from_labels": True}},
        labels={**TRIPLE_BARRIER, "pt_multiplier": 0.5, "sl_multiplier": 0.5},
    )
    traded = bars.iloc[50:]
    targets = np.where(np.arange(len(traded)) % 40 < 30, 1, 0)
    market = TradedMarket("TEST", traded, targets, exit_levels(strategy, bars).on(traded.index))
    trades = trade_markets(strategy, [market], {"commission_bps": 1.0}).result.trades
    assert {"stop", "take_profit"} <= set(trades["exit_reason"])


VOLATILITY_SIZED = {
    "sizing": {"volatility_target": {"annual_vol": 0.5, "lookback": 20}, "max_leverage": 1.0}
}


def test_sizing_fractions_use_the_history_and_no_later_bar() -> None:
    bars = random_walk_bars(200)
    strategy = strategy_with(VOLATILITY_SIZED)
    fractions = sizing_fractions(strategy, bars)
    expected = VolatilityTarget(annual_vol=0.5, lookback=20).fractions(
        bars["close"].to_numpy(), periods_per_year(bars.index)
    )
    np.testing.assert_array_equal(fractions.to_numpy(), expected)
    changed = bars.copy()
    changed.iloc[150:, changed.columns.get_loc("close")] *= 3.0
    np.testing.assert_array_equal(sizing_fractions(strategy, changed)[:150], fractions[:150])
    assert sizing_fractions(strategy_with({}), bars) is None
    traded = sizing_on(fractions, bars.index[100:])
    assert len(traded) == 100 and not np.isnan(traded).any()


def _folds(bars, starts: list[int], ends: list[int], strategy) -> list[FoldInput]:
    fractions = sizing_fractions(strategy, bars)
    folds = []
    for number, (start, end) in enumerate(zip(starts, ends, strict=True)):
        traded = bars.iloc[start:end]
        folds.append(
            FoldInput(number, traded, np.ones(len(traded)), {}, sizing_on(fractions, traded.index))
        )
    return folds


def test_a_walk_forward_fold_with_sizing_enters_on_its_first_bars() -> None:
    bars = random_walk_bars(400)
    strategy = strategy_with(VOLATILITY_SIZED)
    folds = _folds(bars, [100, 250], [250, 400], strategy)
    run = simulate_folds(folds, **sizing_arguments(strategy))
    for fold in run.folds:
        # Decided at the fold's first close, filled at its second open: the history sized it.
        assert fold.result.trades["entry_time"].iloc[0] == fold.result.equity.index[1]
    fraction = sizing_fractions(strategy, bars).iloc[100]
    first = run.folds[0].result.trades.iloc[0]
    assert first["size"] * first["entry_price"] == np.float64(fraction * 100_000.0)
    without_history = simulate_folds(
        [FoldInput(f.fold, f.bars, f.target_position) for f in folds],
        **sizing_arguments(strategy),
    )
    assert without_history.folds[0].result.trades["entry_time"].iloc[0] == bars.index[121]


def test_a_portfolio_fold_with_sizing_enters_on_its_first_bars() -> None:
    bars = {"A": random_walk_bars(400, seed=1), "B": random_walk_bars(400, seed=2)}
    strategy = strategy_with(VOLATILITY_SIZED)
    folds = {s: _folds(b, [100, 250], [250, 400], strategy) for s, b in bars.items()}
    run = simulate_portfolio_folds(strategy, folds, {})
    for fold in run.folds:
        first_entries = fold.result.trades.groupby("symbol", observed=True)["entry_time"].min()
        assert (first_entries == fold.result.equity.index[1]).all()
