"""TrainingService end to end on real worker processes and the bundled EURUSD data."""

from __future__ import annotations

import os
import signal
import socket
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from integration.training.conftest import TrainingStack, quick_strategy
from support.eventually import eventually

from ktrdr.data import DataRepository
from ktrdr.errors import DataError, NotFoundError, StrategyValidationError, ValidationError
from ktrdr.operations import OperationStatus
from ktrdr.strategy import validate_strategy
from ktrdr.training.dataset import prepare_training_data
from ktrdr.training.evaluation import predict_proba
from ktrdr.training.predictor import Predictor

SUMMARY_KEYS = {
    "model_path",
    "training_metrics",
    "test_metrics",
    "label_distribution",
    "n_samples",
    "feature_names",
    "duration_seconds",
    "device",
    "execution",
}


def test_training_completes_with_the_design_summary_and_a_bundle(stack: TrainingStack) -> None:
    started = stack.training.start_training(
        stack.training.resolve_strategy(quick_strategy()), seed=11
    )
    assert started["success"] is True
    op = stack.finished(started["operation_id"])
    assert op.status is OperationStatus.COMPLETED, op.error_message
    summary = op.result_summary
    assert set(summary) == SUMMARY_KEYS
    assert summary["execution"] == {
        "executor": "local",
        "node": socket.gethostname(),
        "device": summary["device"],
    }
    metrics = summary["training_metrics"]
    assert metrics["epochs_run"] == 3 == len(metrics["history"]["train_loss"])
    assert set(summary["test_metrics"]) >= {
        "test_accuracy",
        "test_loss",
        "precision",
        "recall",
        "f1",
    }
    assert summary["feature_names"][0] == "1h_rsi_zone_oversold"
    assert summary["device"] == "cpu"
    assert (stack.home / "models" / "eurusd_rsi_macd_mlp" / "v1" / "weights.safetensors").exists()
    assert op.metadata.symbol == "EURUSD" and op.metadata.timeframe == "1h"
    assert op.progress.context["epoch"] == 3


def test_same_strategy_data_and_seed_give_the_same_metrics(stack: TrainingStack) -> None:
    first, second = (
        stack.training.start_training(stack.training.resolve_strategy(quick_strategy()), seed=5)
        for _ in range(2)
    )
    a = stack.finished(first["operation_id"]).result_summary
    b = stack.finished(second["operation_id"]).result_summary
    assert a["training_metrics"]["history"] == b["training_metrics"]["history"]
    assert a["test_metrics"] == b["test_metrics"]
    assert a["model_path"] != b["model_path"]


def test_reloaded_bundle_reproduces_the_test_metrics(stack: TrainingStack) -> None:
    op = stack.finished(
        stack.training.start_training(stack.training.resolve_strategy(quick_strategy()), seed=3)[
            "operation_id"
        ]
    )
    summary = op.result_summary
    predictor = Predictor.load(summary["model_path"])
    assert predictor.feature_names == summary["feature_names"]
    strategy = predictor.strategy
    repo = DataRepository(stack.home / "data")
    # The bars the training got: its date_range clipped to the research window.
    first, last = predictor.training_range
    assert last < pd.Timestamp("2017-12-08T00:00:00Z")  # the EURUSD 1h holdout start
    bars = {"EURUSD": {"1h": repo.load("EURUSD", "1h", first, last)}}
    prepared = prepare_training_data(strategy, bars, audit=False)
    probabilities = predict_proba(predictor.bundle.model, prepared.inputs["test"])
    accuracy = float((probabilities.argmax(axis=1) == prepared.labels["test"]).mean())
    assert accuracy == pytest.approx(summary["test_metrics"]["test_accuracy"])
    again = predict_proba(
        Predictor.load(summary["model_path"]).bundle.model, prepared.inputs["test"]
    )
    np.testing.assert_array_equal(probabilities, again)


def test_cancel_mid_training_stops_within_a_second_and_the_pool_goes_on(
    stack: TrainingStack,
) -> None:
    long_run = quick_strategy(epochs=200, early_stopping={"patience": 200})
    op_id = stack.training.start_training(stack.training.resolve_strategy(long_run), seed=1)[
        "operation_id"
    ]
    eventually(
        lambda: stack.operations.get(op_id).progress.context.get("epoch", 0) >= 1,
        "first epoch reported",
        timeout=120,
    )
    stack.operations.cancel(op_id)
    cancelled_at = time.monotonic()
    eventually(lambda: not stack.executor.is_alive(op_id), "job stopped", timeout=5)
    assert time.monotonic() - cancelled_at < 1.0
    assert stack.operations.get(op_id).status is OperationStatus.CANCELLED
    follow_up = stack.training.start_training(
        stack.training.resolve_strategy(quick_strategy()), seed=2
    )["operation_id"]
    assert stack.finished(follow_up).status is OperationStatus.COMPLETED


def test_killed_worker_fails_the_operation_with_the_cause(stack: TrainingStack) -> None:
    long_run = quick_strategy(epochs=200, early_stopping={"patience": 200})
    op_id = stack.training.start_training(stack.training.resolve_strategy(long_run), seed=1)[
        "operation_id"
    ]
    eventually(
        lambda: stack.operations.get(op_id).progress.context.get("epoch", 0) >= 1,
        "first epoch reported",
        timeout=120,
    )
    pid = stack.executor.health()["jobs"][op_id]
    os.kill(int(pid), signal.SIGKILL)
    op = stack.finished(op_id, timeout=30)
    assert op.status is OperationStatus.FAILED
    assert "SIGKILL" in op.error_message and str(pid) in op.error_message
    follow_up = stack.training.start_training(
        stack.training.resolve_strategy(quick_strategy()), seed=2
    )["operation_id"]
    assert stack.finished(follow_up).status is OperationStatus.COMPLETED


def test_too_few_bars_is_refused_up_front(stack: TrainingStack) -> None:
    before = stack.operations.list().total_count
    with pytest.raises(DataError, match=r"EURUSD 1h 2017-05-01\.\.2017-05-03 has \d+ bars"):
        stack.training.start_training(
            stack.training.resolve_strategy(quick_strategy()),
            start_date="2017-05-01",
            end_date="2017-05-03",
        )
    with pytest.raises(NotFoundError, match="XAUUSD"):
        stack.training.start_training(
            stack.training.resolve_strategy(quick_strategy()), symbols=["XAUUSD"]
        )
    with pytest.raises(NotFoundError, match="no_such_strategy"):
        stack.training.start_training(stack.training.resolve_strategy("no_such_strategy"))
    broken = quick_strategy()
    broken["indicators"]["rsi_14"]["period"] = 0
    with pytest.raises(StrategyValidationError, match=r"indicators\.rsi_14\.period"):
        stack.training.start_training(stack.training.resolve_strategy(broken))
    assert stack.operations.list().total_count == before


def test_a_single_class_split_fails_the_job_with_a_clear_error(stack: TrainingStack) -> None:
    huge_swings = quick_strategy(labels={"source": "zigzag", "zigzag_threshold": 0.5})
    op = stack.finished(
        stack.training.start_training(stack.training.resolve_strategy(huge_swings))["operation_id"]
    )
    assert op.status is OperationStatus.FAILED
    assert "only one class" in op.error_message and "EURUSD" in op.error_message


def test_a_peeking_feature_is_refused_by_the_pre_flight(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    from ktrdr.features import builder

    real = builder.compute_indicator

    def peeking(type_name, params, bars):
        values = real(type_name, params, bars)
        if type_name == "macd":
            values = {k: np.append(v[1:], np.nan) for k, v in values.items()}
        return values

    monkeypatch.setattr(builder, "compute_indicator", peeking)
    strategy = validate_strategy(quick_strategy())
    repo = DataRepository(tmp_path / "data")
    bars = {"EURUSD": {"1h": repo.load("EURUSD", "1h", "2017-04-19", "2017-12-31")}}
    with pytest.raises(ValidationError, match=r"look-ahead audit failed for EURUSD: .*macd_std"):
        prepare_training_data(strategy, bars)
