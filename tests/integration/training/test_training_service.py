"""TrainingService end to end on real worker processes and the bundled EURUSD data."""

from __future__ import annotations

import itertools
import os
import re
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
from ktrdr.training.dataset import compute_samples, prepare_training_data, select_samples
from ktrdr.training.evaluation import predict_proba
from ktrdr.training.predictor import Predictor
from ktrdr.training.walk_forward import plan_trainings

SUMMARY_KEYS = {
    "artifacts",
    "model_path",
    "training_metrics",
    "test_metrics",
    "label_distribution",
    "n_samples",
    "feature_names",
    "duration_seconds",
    "device",
    "execution",
    "walk_forward",
}


def test_training_completes_with_the_design_summary_and_a_bundle(stack: TrainingStack) -> None:
    started = stack.training.start_training(
        stack.training.resolve_strategy(quick_strategy({"folds": 0})), seed=11
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
    assert re.fullmatch(r"trained 1 model × \d+ seeds? \(3 epochs\)", op.progress.current_step)
    history = pd.read_parquet(summary["artifacts"]["history"])
    assert list(history["model"].unique()) == ["final"]
    assert history["train_loss"].tolist() == pytest.approx(metrics["history"]["train_loss"])
    assert set(summary["test_metrics"]) >= {
        "test_accuracy",
        "test_loss",
        "balanced_accuracy",
        "prior_log_loss",
        "precision",
        "recall",
        "f1",
    }
    assert summary["feature_names"][0] == "1h_rsi_zone_oversold"
    assert summary["device"] == "cpu"
    assert (stack.home / "models" / "eurusd_rsi_macd_mlp" / "v1" / "weights.safetensors").exists()
    assert op.metadata.symbol == "EURUSD" and op.metadata.timeframe == "1h"
    assert op.progress.context["epoch"] == 3
    assert summary["walk_forward"] == {"scheme": "single_split", "seeds": [11], "folds": []}


def test_walk_forward_trains_the_folds_and_the_final_ensemble(stack: TrainingStack) -> None:
    op = stack.finished(
        stack.training.start_training(stack.training.resolve_strategy(quick_strategy()), seed=11)[
            "operation_id"
        ]
    )
    assert op.status is OperationStatus.COMPLETED, op.error_message
    summary = op.result_summary
    assert set(summary) == SUMMARY_KEYS
    walk_forward = summary["walk_forward"]
    assert (walk_forward["scheme"], walk_forward["seeds"]) == ("anchored", [11, 12, 13])
    folds = walk_forward["folds"]
    assert [fold["fold"] for fold in folds] == [1, 2, 3, 4]
    for fold, following in itertools.pairwise(folds):
        assert fold["train_end"] < fold["test_start"] <= fold["test_end"] < following["test_start"]
    for key in ("test_accuracy", "balanced_accuracy", "prior_log_loss"):
        fold_mean = np.mean([fold["test_metrics"][key] for fold in folds])
        assert summary["test_metrics"][key] == pytest.approx(fold_mean), key
    assert summary["n_samples"]["test"] == sum(
        fold["test_metrics"]["per_class"][name]["support"]
        for fold in folds
        for name in ("sell", "hold", "buy")
    )
    assert len(summary["training_metrics"]["members"]) == 3
    final = Predictor.load(summary["model_path"])
    assert final.seeds == [11, 12, 13]
    assert final.bundle.metadata["walk_forward"] == walk_forward
    assert final.bundle.metadata["evaluation"]["folds"] == 4
    for fold in folds:
        bundle = Predictor.load(Path(summary["model_path"]) / "folds" / str(fold["fold"])).bundle
        assert bundle.metadata["fold"] == fold["fold"]
        assert bundle.metadata["training_range"] == {
            "start": fold["train_start"],
            "end": fold["train_end"],
        }
        assert bundle.metadata["test_range"] == {
            "start": fold["test_start"],
            "end": fold["test_end"],
        }
        assert len(bundle.members) == 3


def test_a_fold_bundle_reproduces_its_out_of_sample_metrics(stack: TrainingStack) -> None:
    op = stack.finished(
        stack.training.start_training(stack.training.resolve_strategy(quick_strategy()), seed=4)[
            "operation_id"
        ]
    )
    summary = op.result_summary
    fold = summary["walk_forward"]["folds"][1]
    predictor = Predictor.load(Path(summary["model_path"]) / "folds" / "2")
    repo = DataRepository(stack.home / "data")
    # The bars the training got: the strategy's range clipped to the research window.
    trained = repo.load("EURUSD", "1h", op.metadata.start_date, op.metadata.end_date)
    bars = {"EURUSD": {"1h": trained}}
    predictions = predictor.predict(bars["EURUSD"])
    in_slice = (predictions.index >= fold["test_start"]) & (predictions.index <= fold["test_end"])
    samples = compute_samples(predictor.strategy, bars, audit=False)
    training = plan_trainings(samples, predictor.strategy)[1]
    test = select_samples(samples, training.selection).labels["test"]
    labelled = np.isin(predictions.index[in_slice], samples.grid[training.selection["test"]])
    mean = predictions.probabilities[in_slice][labelled]
    assert predictions.member_probabilities.shape[0] == 3
    assert float((mean.argmax(axis=1) == test).mean()) == pytest.approx(
        fold["test_metrics"]["test_accuracy"]
    )


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
    single_split = quick_strategy({"folds": 0})
    op = stack.finished(
        stack.training.start_training(stack.training.resolve_strategy(single_split), seed=3)[
            "operation_id"
        ]
    )
    summary = op.result_summary
    predictor = Predictor.load(summary["model_path"])
    assert predictor.feature_names == summary["feature_names"]
    strategy = predictor.strategy
    repo = DataRepository(stack.home / "data")
    # The bars the training got: its date_range clipped to the research window.
    first, last = pd.Timestamp(op.metadata.start_date), pd.Timestamp(op.metadata.end_date)
    assert last < pd.Timestamp("2017-12-08T00:00:00Z")  # the EURUSD 1h holdout start
    bars = {"EURUSD": {"1h": repo.load("EURUSD", "1h", first, last)}}
    # A single split trained on its train and validation splits only, never on its test split.
    test_range = predictor.bundle.metadata["test_range"]
    assert predictor.training_range[1] < pd.Timestamp(test_range["start"])
    prepared = prepare_training_data(strategy, bars, audit=False)
    probabilities = predict_proba(predictor.bundle.members[0], prepared.inputs["test"])
    accuracy = float((probabilities.argmax(axis=1) == prepared.labels["test"]).mean())
    assert accuracy == pytest.approx(summary["test_metrics"]["test_accuracy"])
    again = predict_proba(
        Predictor.load(summary["model_path"]).bundle.members[0], prepared.inputs["test"]
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
