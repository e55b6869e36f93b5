"""DESIGN §11 on real workers: walk-forward backtests, the sealed holdout, the in-sample guard."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from integration.backtesting.conftest import (
    HOLDOUT_START,
    MODEL_NAME,
    BacktestStack,
    tiny_strategy,
)
from sqlalchemy import null, select
from support.bars import random_walk_bars

from ktrdr.backtesting.inputs import bundle_files
from ktrdr.backtesting.ranges import TrainedModel
from ktrdr.backtesting.service import BacktestingService
from ktrdr.errors import ValidationError
from ktrdr.evaluation import HoldoutService, holdout_psr, holdout_verdict
from ktrdr.execution import JobSpec
from ktrdr.operations import Operation, OperationStatus, OperationType
from ktrdr.operations.schema import holdout_evaluations

WALK_FORWARD = {"folds": 2, "scheme": "anchored", "seeds": 2, "min_train_fraction": 0.6}


def count_backtests(stack: BacktestStack) -> int:
    return stack.operations.list(operation_type="backtesting").total_count


@pytest.fixture(scope="module")
def walk_forward_model(stack: BacktestStack) -> Path:
    """A model trained walk-forward for real: 2 folds of 2 seeds, then the final ensemble."""
    strategy = tiny_strategy()
    strategy["name"] = "wf_model"
    strategy["evaluation"] = WALK_FORWARD
    started = stack.training.start_training(stack.training.resolve_strategy(strategy), seed=5)
    trained = stack.finished(started["operation_id"], timeout=120)
    assert trained.status is OperationStatus.COMPLETED, trained.error_message
    return Path(trained.result_summary["model_path"])


def add_to_manifest(bundle: Path, **entries: object) -> None:
    manifest = json.loads((bundle / "bundle.json").read_text())
    manifest.update(entries)
    (bundle / "bundle.json").write_text(json.dumps(manifest))


def fold_block(model: Path) -> list[dict]:
    """The folds the training wrote into the final bundle.json."""
    return json.loads((model / "bundle.json").read_text())["walk_forward"]["folds"]


@pytest.fixture(scope="module")
def walk_forward_backtest(stack: BacktestStack, walk_forward_model: Path) -> Operation:
    started = stack.backtesting.start_backtest(walk_forward_model)
    return stack.finished(started["operation_id"], timeout=120)


def test_walk_forward_is_the_default_and_stitches_the_folds(
    walk_forward_model: Path, walk_forward_backtest: Operation
) -> None:
    op = walk_forward_backtest
    assert op.status is OperationStatus.COMPLETED, op.error_message
    summary = op.result_summary
    assert summary["mode"] == "walk_forward" and summary["in_sample"] is False
    assert op.metadata.parameters["mode"] == "walk_forward"
    folds = summary["folds"]
    trained = fold_block(walk_forward_model)
    assert [fold["fold"] for fold in folds] == [1, 2]
    for tested, fold in zip(folds, trained, strict=True):
        assert pd.Timestamp(fold["test_start"]) <= pd.Timestamp(tested["start_date"])
        assert pd.Timestamp(tested["end_date"]) == pd.Timestamp(fold["test_end"])
        assert pd.Timestamp(fold["train_end"]) < pd.Timestamp(tested["start_date"])
    assert summary["start_date"] == folds[0]["start_date"]
    assert summary["bars"] == sum(fold["bars"] for fold in folds)
    growth = np.prod([1 + fold["metrics"]["total_return"] for fold in folds])
    assert summary["metrics"]["total_return"] == pytest.approx(growth - 1)
    trades = sum(fold["metrics"]["total_trades"] for fold in folds)
    assert summary["metrics"]["total_trades"] == trades
    # Each seed's own stitched run: two members, two Sharpes, and they differ from each other.
    assert len(summary["seed_sharpes"]) == WALK_FORWARD["seeds"]
    equity = pd.read_parquet(summary["artifacts"]["equity"])
    assert len(equity) == summary["bars"]
    assert equity["equity"].iloc[-1] / equity["equity"].iloc[0] - 1 == pytest.approx(growth - 1)


def test_each_fold_is_traded_by_its_own_model(
    stack: BacktestStack, walk_forward_model: Path, walk_forward_backtest: Operation
) -> None:
    fold = walk_forward_backtest.result_summary["folds"][0]
    alone = stack.backtesting.start_backtest(
        walk_forward_model / "folds" / "1",
        start_date=fold["start_date"],
        end_date=fold["end_date"],
    )
    op = stack.finished(alone["operation_id"])
    assert op.status is OperationStatus.COMPLETED, op.error_message
    stitched = pd.read_parquet(walk_forward_backtest.result_summary["artifacts"]["equity"])
    single = pd.read_parquet(op.result_summary["artifacts"]["equity"])
    # Same model, same bars, same decisions: the curves agree until the walk-forward run closes
    # its position before the fold boundary (its last bar).
    n = fold["bars"]
    assert len(single) == n
    np.testing.assert_allclose(stitched["equity"].iloc[: n - 1], single["equity"].iloc[: n - 1])


def test_a_single_split_model_is_backtested_on_the_test_split_it_never_trained_on(
    stack: BacktestStack,
) -> None:
    manifest = json.loads((stack.model_path / "bundle.json").read_text())
    tested, trained = manifest["test_range"], manifest["training_range"]
    assert manifest["walk_forward"]["scheme"] == "single_split"
    assert pd.Timestamp(trained["end"]) < pd.Timestamp(tested["start"])

    op = stack.finished(stack.backtesting.start_backtest(MODEL_NAME)["operation_id"])

    assert op.status is OperationStatus.COMPLETED, op.error_message
    summary = op.result_summary
    assert summary["mode"] == "walk_forward" and summary["in_sample"] is False
    (fold,) = summary["folds"]
    assert pd.Timestamp(fold["start_date"]) >= pd.Timestamp(tested["start"])
    assert pd.Timestamp(fold["end_date"]) == pd.Timestamp(tested["end"])
    assert summary["metrics"] == fold["metrics"]


def test_a_model_without_folds_asked_for_walk_forward_is_told_to_pass_dates(
    stack: BacktestStack,
) -> None:
    # As a model trained before walk-forward training left it: no walk_forward block.
    old = stack.home / "models" / "pre_walk_forward" / "v1"
    shutil.copytree(stack.model_path, old)
    manifest = json.loads((old / "bundle.json").read_text())
    del manifest["walk_forward"]
    (old / "bundle.json").write_text(json.dumps(manifest))
    before = count_backtests(stack)
    with pytest.raises(ValidationError) as caught:
        stack.backtesting.start_backtest(old)
    assert "no walk-forward folds" in caught.value.message
    assert "--start/--end" in caught.value.message
    assert count_backtests(stack) == before


def test_a_range_into_the_holdout_is_refused_pointing_to_holdout_evaluate(
    stack: BacktestStack,
) -> None:
    before = count_backtests(stack)
    with pytest.raises(ValidationError) as caught:
        stack.backtesting.start_backtest(MODEL_NAME, start_date="2017-11-01", end_date="2018-01-15")
    assert "sealed holdout" in caught.value.message
    assert HOLDOUT_START in caught.value.message
    assert "ktrdr holdout evaluate" in caught.value.message
    assert count_backtests(stack) == before


def test_a_range_before_the_training_end_runs_only_when_allowed_and_is_marked(
    stack: BacktestStack,
) -> None:
    dates = {"start_date": "2017-10-02", "end_date": "2017-10-27"}
    with pytest.raises(ValidationError, match="in-sample: it starts before the model's training"):
        stack.backtesting.start_backtest(MODEL_NAME, **dates)
    started = stack.backtesting.start_backtest(MODEL_NAME, allow_in_sample=True, **dates)
    op = stack.finished(started["operation_id"])
    assert op.status is OperationStatus.COMPLETED, op.error_message
    assert op.result_summary["in_sample"] is True
    assert op.metadata.parameters["in_sample"] is True


def test_another_symbol_during_the_training_period_is_in_sample(
    stack: BacktestStack, tmp_path: Path
) -> None:
    other = tmp_path / "OTHER_1h.parquet"
    random_walk_bars(4_000, start="2017-05-01").to_parquet(other)
    stack.data.import_file(other, "OTHER", "1h")
    dates = {"symbol": "OTHER", "start_date": "2017-07-03", "end_date": "2017-07-28"}
    with pytest.raises(ValidationError) as caught:
        stack.backtesting.start_backtest(MODEL_NAME, **dates)
    first, last = (day.date() for day in TrainedModel.read(stack.model_path).training_range)
    assert f"OTHER over the model's training period {first}..{last}" in caught.value.message
    started = stack.backtesting.start_backtest(MODEL_NAME, allow_in_sample=True, **dates)
    op = stack.finished(started["operation_id"])
    assert op.status is OperationStatus.COMPLETED, op.error_message
    assert op.result_summary["in_sample"] is True


def test_the_holdout_is_evaluated_once_then_the_stored_result_is_returned(
    stack: BacktestStack,
) -> None:
    holdout = HoldoutService(stack.operations, stack.backtesting, stack.windows)
    first, started = holdout.look(MODEL_NAME)
    assert started and first["look"] == 1
    assert first["model_path"] == stack.model_path.relative_to(stack.home).as_posix()
    op = stack.finished(first["operation_id"])
    assert op.status is OperationStatus.COMPLETED, op.error_message
    assert op.result_summary["mode"] == "holdout"
    assert op.result_summary["start_date"] == HOLDOUT_START
    assert op.result_summary["end_date"] == stack.data.load("EURUSD", "1h").index[-1].isoformat()

    stored = holdout.evaluation(MODEL_NAME)
    result = stored["result"]
    assert stored["status"] == "completed"
    assert result["looks"] == 1
    equity = pd.read_parquet(op.result_summary["artifacts"]["equity"])["equity"].to_numpy()
    psr = holdout_psr(equity[1:] / equity[:-1] - 1)
    expected = holdout_verdict(op.result_summary["metrics"], psr)
    assert (result["verdict"], result["reason"]) == expected
    assert result["metrics"] == op.result_summary["metrics"]
    with stack.operations.store.engine.connect() as conn:
        kept = conn.execute(select(holdout_evaluations.c.result)).scalar_one()
    assert kept == result  # stored once read: it no longer depends on the operation

    backtests = count_backtests(stack)
    again, started = holdout.look(MODEL_NAME)
    assert again == stored and not started
    assert holdout.evaluate(MODEL_NAME) == stored
    assert count_backtests(stack) == backtests
    assert stack.windows.get("EURUSD", "1h").holdout_looks == 1
    assert [row["model_path"] for row in holdout.list()] == [stored["model_path"]]


def test_a_range_starting_in_the_holdout_is_refused_too(stack: BacktestStack) -> None:
    with pytest.raises(ValidationError, match="ktrdr holdout evaluate"):
        stack.backtesting.start_backtest(MODEL_NAME, start_date="2017-12-08")


class FarAwayExecutor:
    """Holds the submitted specs back and says its jobs cannot read this machine's disk."""

    def __init__(self) -> None:
        self.specs: list[JobSpec] = []

    def shares_disk(self, job: str) -> bool:
        return False

    def submit(self, spec: JobSpec) -> None:
        self.specs.append(spec)


def test_fold_bundles_travel_in_the_request_to_executors_without_this_disk(
    stack: BacktestStack, walk_forward_model: Path, walk_forward_backtest: Operation
) -> None:
    copy = stack.home / "models" / "wf_copy" / "v1"
    shutil.copytree(walk_forward_model, copy)
    far = FarAwayExecutor()
    service = BacktestingService(
        stack.operations,
        far,
        settings=stack.backtesting.settings,
        data=stack.data,
        windows=stack.windows,
    )
    service.start_backtest(copy)
    [spec] = far.specs
    assert [fold["model_files"] for fold in spec.request["folds"]] == [
        bundle_files(copy / "folds" / str(fold["fold"])) for fold in fold_block(copy)
    ]
    shutil.rmtree(copy)  # the job must not need the folders any more

    stack.executor.submit(spec)
    op = stack.finished(spec.operation_id, timeout=120)
    assert op.status is OperationStatus.COMPLETED, op.error_message
    assert op.result_summary["metrics"] == walk_forward_backtest.result_summary["metrics"]


def test_a_look_whose_backtest_died_is_rerun_under_the_same_look(
    stack: BacktestStack, walk_forward_model: Path
) -> None:
    holdout = HoldoutService(stack.operations, stack.backtesting, stack.windows)
    model = walk_forward_model
    looks = stack.windows.get("EURUSD", "1h").holdout_looks
    # As a server restart leaves it: the row and its look are stored, the backtest failed.
    lost = stack.operations.create(OperationType.BACKTESTING)
    stack.operations.start(lost.operation_id)
    stack.operations.fail(lost.operation_id, "lost: server restarted")
    with stack.operations.store.engine.begin() as conn:
        conn.execute(
            holdout_evaluations.insert().values(
                model_path=model.relative_to(stack.home).as_posix(),
                holdout_start=stack.windows.get("EURUSD", "1h").holdout_start.to_pydatetime(),
                created_at=pd.Timestamp.now(tz="UTC").to_pydatetime(),
                strategy_name="wf_model",
                symbol="EURUSD",
                timeframe="1h",
                operation_id=lost.operation_id,
                look=looks,
                result=null(),
            )
        )

    assert holdout.evaluation(model)["status"] == "failed"
    rerun, started = holdout.look(model)

    assert started  # the rerun's backtest: a 202 from the API, like a new look
    assert rerun["operation_id"] != lost.operation_id
    assert rerun["look"] == looks
    assert stack.windows.get("EURUSD", "1h").holdout_looks == looks
    op = stack.finished(rerun["operation_id"])
    assert op.status is OperationStatus.COMPLETED, op.error_message
    assert holdout.evaluation(model)["result"]["looks"] == looks


def test_a_fold_bundle_never_meets_the_holdout(
    stack: BacktestStack, walk_forward_model: Path
) -> None:
    holdout = HoldoutService(stack.operations, stack.backtesting, stack.windows)
    looks, backtests = stack.windows.get("EURUSD", "1h").holdout_looks, count_backtests(stack)
    with pytest.raises(ValidationError, match="only the final model meets the holdout"):
        holdout.evaluate(walk_forward_model / "folds" / "2")
    assert stack.windows.get("EURUSD", "1h").holdout_looks == looks
    assert count_backtests(stack) == backtests


def test_a_look_whose_backtest_cannot_start_is_taken_back(
    stack: BacktestStack, tmp_path: Path
) -> None:
    # A model trained before data windows existed: its training range reaches into the holdout.
    old = stack.home / "models" / "trained_on_holdout" / "v1"
    shutil.copytree(stack.model_path, old)
    add_to_manifest(
        old,
        training_range={"start": "2017-04-19T00:00:00+00:00", "end": "2018-01-31T00:00:00+00:00"},
        data_range={
            "EURUSD": {"start": "2017-04-19T00:00:00+00:00", "end": "2018-01-31T00:00:00+00:00"}
        },
    )
    holdout = HoldoutService(stack.operations, stack.backtesting, stack.windows)
    looks = stack.windows.get("EURUSD", "1h").holdout_looks
    with pytest.raises(ValidationError, match="its holdout result would be in-sample"):
        holdout.evaluate(old)
    assert stack.windows.get("EURUSD", "1h").holdout_looks == looks
    assert all(row["model_path"] != "models/trained_on_holdout/v1" for row in holdout.list())


def test_a_moved_holdout_is_a_new_look_for_the_same_model(stack: BacktestStack) -> None:
    holdout = HoldoutService(stack.operations, stack.backtesting, stack.windows)
    model = stack.home / "models" / "moved_holdout" / "v1"
    shutil.copytree(stack.model_path, model)
    first = holdout.evaluate(model)
    assert stack.finished(first["operation_id"]).status is OperationStatus.COMPLETED
    original = stack.windows.get("EURUSD", "1h").holdout_start
    try:
        stack.windows.reset("EURUSD", "1h", "2017-12-20")
        second = holdout.evaluate(model)
        assert second["operation_id"] != first["operation_id"]
        assert second["look"] == 1  # the moved holdout's first look
        op = stack.finished(second["operation_id"])
        assert op.status is OperationStatus.COMPLETED, op.error_message
        assert pd.Timestamp(op.result_summary["start_date"]) >= pd.Timestamp("2017-12-20", tz="UTC")
        rows = [r for r in holdout.list() if r["model_path"] == "models/moved_holdout/v1"]
        assert len(rows) == 2  # the first look's row is kept
    finally:
        stack.windows.reset("EURUSD", "1h", original)
