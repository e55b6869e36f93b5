"""BacktestingService end to end on real worker processes, a trained model and the EURUSD data."""

from __future__ import annotations

import shutil
import socket

import numpy as np
import pandas as pd
import pytest
from integration.backtesting.conftest import HOLDOUT_START, MODEL_NAME, BacktestStack
from support.bars import random_walk_bars
from support.eventually import eventually

from ktrdr.backtesting import METRIC_NAMES, TRADE_COLUMNS
from ktrdr.errors import DataError, NotFoundError, ValidationError
from ktrdr.operations import OperationStatus, OperationType
from ktrdr.training.predictor import Predictor

SUMMARY_KEYS = {
    "mode",
    "in_sample",
    "metrics",
    "start_date",
    "end_date",
    "bars",
    "artifacts",
    "execution",
}


@pytest.fixture(scope="module")
def default_backtest(stack: BacktestStack):
    """A completed range backtest of the model with no dates, as a child of a research op."""
    parent = stack.operations.create(OperationType.AGENT_RESEARCH)
    started = stack.backtesting.start_backtest(
        MODEL_NAME, mode="range", parent_operation_id=parent.operation_id
    )
    assert started["success"] is True
    return parent.operation_id, stack.finished(started["operation_id"])


def count_backtests(stack: BacktestStack) -> int:
    return stack.operations.list(operation_type="backtesting").total_count


def test_a_backtest_completes_with_the_design_summary(
    stack: BacktestStack, default_backtest
) -> None:
    parent_id, op = default_backtest
    assert op.status is OperationStatus.COMPLETED, op.error_message
    summary = op.result_summary
    assert set(summary) == SUMMARY_KEYS
    assert summary["execution"] == {
        "executor": "local",
        "node": socket.gethostname(),
        "device": "cpu",
    }
    assert tuple(summary["metrics"]) == METRIC_NAMES
    assert all(isinstance(v, (int, float)) or v is None for v in summary["metrics"].values())
    assert summary["bars"] >= 20
    assert op.parent_operation_id == parent_id
    assert op.metadata.symbol == "EURUSD" and op.metadata.timeframe == "1h"
    assert summary["mode"] == "range" and summary["in_sample"] is False
    assert op.metadata.parameters == {
        "model_path": str(stack.model_path),
        "strategy_name": MODEL_NAME,
        "costs": {
            "commission_bps": 1.0,
            "slippage_bps": 0.5,
            "spread_bps": 0.0,
            "financing_bps_per_day": 0.0,
        },
        "mode": "range",
        "in_sample": False,
        "holdout_start": HOLDOUT_START,
    }
    assert op.progress.percentage == 100


def test_the_artifacts_hold_the_trades_and_the_equity_curve(
    stack: BacktestStack, default_backtest
) -> None:
    _, op = default_backtest
    summary = op.result_summary
    folder = stack.home / "backtests" / op.operation_id
    assert summary["artifacts"] == {
        "trades": str(folder / "trades.parquet"),
        "equity": str(folder / "equity.parquet"),
    }
    trades = pd.read_parquet(summary["artifacts"]["trades"])
    equity = pd.read_parquet(summary["artifacts"]["equity"])
    assert tuple(trades.columns) == TRADE_COLUMNS
    assert len(trades) == summary["metrics"]["total_trades"]
    assert len(equity) == summary["bars"]
    assert equity.index[0].isoformat() == summary["start_date"]
    assert equity.index[-1].isoformat() == summary["end_date"]
    assert set(np.unique(equity["target_position"])) <= {-1, 0, 1}
    growth = equity["equity"].iloc[-1] / equity["equity"].iloc[0] - 1
    assert growth == pytest.approx(summary["metrics"]["total_return"])
    assert sorted(p.name for p in folder.iterdir()) == ["equity.parquet", "trades.parquet"]


def test_a_range_without_dates_runs_from_the_training_end_to_the_holdout(
    stack: BacktestStack, default_backtest
) -> None:
    _, op = default_backtest
    training_end = Predictor.load(stack.model_path).training_range[1]
    bars = stack.data.load("EURUSD", "1h")
    after = bars.index[(bars.index > training_end) & (bars.index < pd.Timestamp(HOLDOUT_START))]
    assert op.metadata.start_date == after[0].isoformat()
    assert op.metadata.end_date == after[-1].isoformat()
    # Warm-up history comes from before the start, so trading starts at the first bar.
    assert op.result_summary["start_date"] == after[0].isoformat()
    assert op.result_summary["bars"] == len(after)


def test_explicit_range_and_costs_are_used(stack: BacktestStack) -> None:
    costs = {"commission_bps": 0.0, "slippage_bps": 0.0}
    started = stack.backtesting.start_backtest(
        stack.model_path,
        start_date="2017-11-06",
        end_date="2017-11-30",
        timeframe="1H",
        costs=costs,
    )
    op = stack.finished(started["operation_id"])
    assert op.status is OperationStatus.COMPLETED, op.error_message
    assert op.result_summary["start_date"].startswith("2017-11-06")
    assert op.result_summary["end_date"].startswith("2017-11-30")
    assert op.metadata.parameters["costs"] == {
        **costs,
        "spread_bps": 0.0,
        "financing_bps_per_day": 0.0,
    }
    trades = pd.read_parquet(op.result_summary["artifacts"]["trades"])
    assert (trades["costs"] == 0).all()


def test_a_range_inside_the_training_range_is_refused_up_front(stack: BacktestStack) -> None:
    before = count_backtests(stack)
    with pytest.raises(ValidationError) as caught:
        stack.backtesting.start_backtest(MODEL_NAME, start_date="2017-06-01", end_date="2017-07-01")
    first, last = (day.date() for day in Predictor.load(stack.model_path).training_range)
    assert caught.value.message.startswith(
        "backtest range 2017-06-01..2017-06-30 is in-sample: it starts before the model's "
        f"training end {last} (EURUSD trained {first}..{last})"
    )
    assert "--allow-in-sample" in caught.value.message
    assert count_backtests(stack) == before


@pytest.mark.parametrize(
    ("request_args", "error", "words"),
    [
        ({"model_path": "no_such_model"}, NotFoundError, "no_such_model"),
        ({"model_path": MODEL_NAME, "timeframe": "4h"}, ValidationError, "base timeframe 1h"),
        ({"model_path": MODEL_NAME, "costs": {"fees": 1}}, ValidationError, "costs.fees"),
        (
            {"model_path": MODEL_NAME, "costs": {"commission_bps": -1}},
            ValidationError,
            "costs.commission_bps",
        ),
        (
            {"model_path": MODEL_NAME, "start_date": "2017-12-07T12:00"},
            DataError,
            "12 EURUSD 1h bars",
        ),
        ({"model_path": MODEL_NAME, "mode": "sideways"}, ValidationError, "mode 'sideways'"),
        (
            {"model_path": MODEL_NAME, "mode": "walk_forward", "start_date": "2017-11-01"},
            ValidationError,
            "are for mode range",
        ),
        ({"model_path": MODEL_NAME, "symbol": "NOPE"}, NotFoundError, "NOPE"),
    ],
)
def test_bad_requests_raise_before_any_operation(
    stack: BacktestStack, request_args: dict, error: type, words: str
) -> None:
    before = count_backtests(stack)
    with pytest.raises(error, match=words):
        stack.backtesting.start_backtest(**request_args)
    assert count_backtests(stack) == before


def test_a_corrupt_bundle_is_refused_before_any_operation(stack: BacktestStack) -> None:
    broken = stack.home / "models" / "broken_model" / "v1"
    shutil.copytree(stack.model_path, broken)
    (broken / "weights.safetensors").write_bytes(b"not weights")
    before = count_backtests(stack)
    with pytest.raises(ValidationError, match=r"weights\.safetensors"):
        stack.backtesting.start_backtest("broken_model")
    assert count_backtests(stack) == before


def test_cancel_mid_backtest_stops_the_job_by_itself(stack: BacktestStack, tmp_path) -> None:
    long_data = tmp_path / "SYNTH_1h.parquet"
    random_walk_bars(60_000, start="2018-01-01").to_parquet(long_data)
    stack.data.import_file(long_data, "SYNTH", "1h")
    slow = stack.service(chunk_rows=2)
    op_id = slow.start_backtest(MODEL_NAME, symbol="SYNTH", mode="range")["operation_id"]
    eventually(
        lambda: (stack.operations.get(op_id).progress.items_done or 0) > 0,
        "predictions under way",
    )
    pid = stack.executor.health()["jobs"][op_id]
    stack.operations.cancel(op_id)
    eventually(lambda: op_id not in stack.executor.health()["jobs"], "the job ends", timeout=10)
    # The pool's grace is 1 s: a worker still in the pool stopped on its own check before that.
    assert pid in stack.executor.health()["worker_pids"]
    op = stack.operations.get(op_id)
    assert op.status is OperationStatus.CANCELLED
    assert op.progress.current_step == "predicting"
    assert not (stack.home / "backtests" / op_id / "trades.parquet").exists()
