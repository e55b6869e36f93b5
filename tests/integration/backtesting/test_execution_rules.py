"""Exits, costs and portfolios through the real BacktestingService and worker processes."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from integration.backtesting.conftest import EXAMPLES, BacktestStack, tiny_strategy

from ktrdr.backtesting import METRIC_NAMES
from ktrdr.evaluation.holdout import HoldoutService
from ktrdr.operations import OperationStatus
from ktrdr.strategy import load_strategy, strategy_to_dict

LABEL_EXITS = "bt_label_exits"
PORTFOLIO = "bt_pooled_indices"
PORTFOLIO_TRAINING_END = "2012-12-31"


def train(stack: BacktestStack, data: dict[str, Any]) -> Path:
    strategy = stack.training.resolve_strategy(data)
    started = stack.training.start_training(strategy, seed=3)
    trained = stack.finished(started["operation_id"], timeout=180)
    assert trained.status is OperationStatus.COMPLETED, trained.error_message
    return Path(trained.result_summary["model_path"])


def completed_summary(stack: BacktestStack, **request: Any) -> dict[str, Any]:
    model = request.pop("model")
    op = stack.finished(stack.backtesting.start_backtest(model, **request)["operation_id"])
    assert op.status is OperationStatus.COMPLETED, op.error_message
    return op.result_summary


@pytest.fixture(scope="module")
def label_exits_model(stack: BacktestStack) -> Path:
    """A tiny EURUSD model on triple-barrier labels whose exits are the labels' barriers."""
    data = tiny_strategy()
    data["name"] = LABEL_EXITS
    data["training"]["labels"] = {
        "source": "triple_barrier",
        "pt_multiplier": 1.0,
        "sl_multiplier": 1.0,
        "max_holding_period": 12,
        "vol_span": 20,
    }
    data["decisions"].update({"confidence_threshold": 0.34, "exits": {"from_labels": True}})
    # Enough learning that the predicted class changes with the features: positions flip.
    data["training"].update({"epochs": 8, "learning_rate": 0.01, "early_stopping": {"patience": 8}})
    data["evaluation"] = {"folds": 2, "seeds": 1}
    return train(stack, data)


@pytest.fixture(scope="module")
def portfolio_model(stack: BacktestStack) -> Path:
    """The pooled SP500 + NASDAQ example, tiny, trained to 2012 with two folds."""
    data = strategy_to_dict(load_strategy(EXAMPLES / "sp500_nasdaq_pooled_mlp.yaml"))
    data["name"] = PORTFOLIO
    data["model"]["architecture"]["hidden_layers"] = [8]
    data["training_data"]["date_range"] = {"start": "2004-01-01", "end": PORTFOLIO_TRAINING_END}
    data["decisions"]["confidence_threshold"] = 0.34
    data["training"].update({"epochs": 2, "early_stopping": {"patience": 2}})
    data["evaluation"] = {"folds": 2, "seeds": 1}
    return train(stack, data)


def exit_reasons(summary: dict[str, Any]) -> set[str]:
    return set(pd.read_parquet(summary["artifacts"]["trades"])["exit_reason"])


@pytest.mark.parametrize("mode", ["range", "walk_forward"])
def test_label_exits_stop_and_take_profit_trades(stack, label_exits_model, mode) -> None:
    summary = completed_summary(stack, model=label_exits_model, mode=mode)
    assert {"stop", "take_profit"} <= exit_reasons(summary)
    assert exit_reasons(summary) <= {"signal", "stop", "take_profit", "end"}


def test_per_symbol_costs_override_the_defaults(stack, label_exits_model) -> None:
    costs = {
        "commission_bps": 0.0,
        "slippage_bps": 0.0,
        "per_symbol": {"EURUSD": {"spread_bps": 4}},
    }
    summary = completed_summary(stack, model=label_exits_model, mode="range", costs=costs)
    trades = pd.read_parquet(summary["artifacts"]["trades"])
    assert len(trades) > 0
    # Half the 4 bp spread on each of the two fills of every round trip.
    notional = trades["size"] * (trades["entry_price"] + trades["exit_price"])
    assert trades["costs"].to_numpy() == pytest.approx((notional * 2e-4).to_numpy(), rel=1e-6)


def test_exits_in_an_explicit_range_with_financing(stack, label_exits_model) -> None:
    free = completed_summary(
        stack, model=label_exits_model, start_date="2017-11-06", end_date="2017-11-30"
    )
    financed = completed_summary(
        stack,
        model=label_exits_model,
        start_date="2017-11-06",
        end_date="2017-11-30",
        costs={"financing_bps_per_day": 50},
    )
    assert free["metrics"]["total_trades"] == financed["metrics"]["total_trades"] > 0
    assert financed["metrics"]["total_return"] < free["metrics"]["total_return"]


@pytest.mark.parametrize("mode", ["range", "walk_forward", "holdout"])
def test_a_multi_symbol_model_backtests_as_one_portfolio(stack, portfolio_model, mode) -> None:
    summary = completed_summary(stack, model=portfolio_model, mode=mode)
    assert summary["symbols"] == ["SP500", "NASDAQ"]
    assert set(summary["symbol_metrics"]) == {"SP500", "NASDAQ"}
    assert tuple(summary["metrics"]) == METRIC_NAMES
    trades = pd.read_parquet(summary["artifacts"]["trades"])
    assert set(trades["symbol"]) == {"SP500", "NASDAQ"}
    equity = pd.read_parquet(summary["artifacts"]["equity"])
    assert {"target_position.SP500", "target_position.NASDAQ"} <= set(equity.columns)
    assert len(equity) == summary["bars"]
    for symbol in ("SP500", "NASDAQ"):
        counted = summary["symbol_metrics"][symbol]["total_trades"]
        assert counted == (trades["symbol"] == symbol).sum()
    training_end = pd.Timestamp(PORTFOLIO_TRAINING_END, tz="UTC")
    # Walk-forward trades the folds' slices inside the training range, each out of its sample.
    assert (pd.Timestamp(summary["start_date"]) > training_end) is (mode != "walk_forward")
    if mode == "walk_forward":
        assert len(summary["folds"]) == 2
    holdout_start = stack.windows.holdout_start(["SP500", "NASDAQ"], ["1d"])
    ends_before_holdout = pd.Timestamp(summary["end_date"]) < holdout_start
    assert ends_before_holdout is (mode != "holdout")
    if mode == "holdout":
        assert pd.Timestamp(summary["start_date"]) == holdout_start


def test_an_explicit_symbol_backtests_that_symbol_alone(stack, portfolio_model) -> None:
    summary = completed_summary(stack, model=portfolio_model, mode="range", symbol="NASDAQ")
    assert "symbols" not in summary and "symbol_metrics" not in summary
    trades = pd.read_parquet(summary["artifacts"]["trades"])
    assert "symbol" not in trades.columns or set(trades["symbol"]) <= {"NASDAQ"}


def test_a_portfolio_holdout_look_counts_on_every_symbols_data_set(stack, portfolio_model) -> None:
    holdout = HoldoutService(stack.operations, stack.backtesting, stack.windows)
    before = {s: stack.windows.get(s, "1d").holdout_looks for s in ("SP500", "NASDAQ")}
    evaluation = holdout.evaluate(portfolio_model)
    op = stack.finished(evaluation["operation_id"])
    assert op.status is OperationStatus.COMPLETED, op.error_message
    assert op.result_summary["mode"] == "holdout"
    assert op.result_summary["symbols"] == ["SP500", "NASDAQ"]
    after = {s: stack.windows.get(s, "1d").holdout_looks for s in ("SP500", "NASDAQ")}
    assert after == {s: looks + 1 for s, looks in before.items()}
    assert holdout.evaluation(portfolio_model)["look"] == max(after.values())
