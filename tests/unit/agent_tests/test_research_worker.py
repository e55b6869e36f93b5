"""The orchestrator, phase by phase, with fake child starters and a real store."""

from __future__ import annotations

import dataclasses
import shutil
import threading
from pathlib import Path
from typing import Any

import pytest
from support.eventually import eventually

from ktrdr.agents.cycle import (
    CycleConcluded,
    CycleEvent,
    CycleFinished,
    GateChecked,
    Phase,
    PhaseEntered,
)
from ktrdr.agents.memory import ExperimentMemory
from ktrdr.agents.research_worker import AgentResearchWorker
from ktrdr.errors import DataError
from ktrdr.operations import (
    FailureCode,
    OperationsService,
    OperationsStore,
    OperationStatus,
    OperationType,
)
from ktrdr.settings import Settings

EXAMPLE = (
    Path(__file__).resolve().parents[3] / "examples" / "strategies" / "sp500_nasdaq_pooled_mlp.yaml"
)

BASELINES = {
    "balanced_accuracy": 0.5,
    "prior_log_loss": 1.05,
    "per_class": {name: {"support": 20} for name in ("sell", "hold", "buy")},
}
PASSING_TRAINING = {
    "model_path": "/models/x/v1",
    "test_metrics": {"test_accuracy": 0.55, "test_loss": 0.9, **BASELINES},
    "training_metrics": {"history": {"train_loss": [1.1, 0.9, 0.8]}},
}
FAILING_TRAINING = {
    "model_path": "/models/x/v1",
    "test_metrics": {"test_accuracy": 0.383, "test_loss": 0.9, **BASELINES},
    "training_metrics": {"history": {"train_loss": [1.1, 0.9]}},
}
PASSING_BACKTEST = {
    "metrics": {"total_trades": 12, "win_rate": 0.5, "max_drawdown": 0.1, "sharpe_ratio": 0.8},
    "artifacts": {"trades": "/bt/trades.parquet", "equity": "/bt/equity.parquet"},
}
HOLDOUT_BACKTEST = {
    "mode": "holdout",
    "metrics": {"total_trades": 14, "sharpe_ratio": 0.3},
    "start_date": "2021-12-01T00:00:00+00:00",
    "end_date": "2022-12-31T23:00:00+00:00",
}
HOLDOUT_LOOK = {
    **HOLDOUT_BACKTEST,
    "verdict": "not_confirmed",
    "reason": "psr 0.61 < 0.90",
    "psr": 0.61,
    "looks": 1,
    "artifacts": {"equity": "/bt/holdout_equity.parquet"},
}
FAILING_BACKTEST = {
    "metrics": {"total_trades": 3, "win_rate": 0.5, "max_drawdown": 0.1, "sharpe_ratio": 0.8}
}


# Research-window statistics the deterministic verdict calls promising (DSR 0.97, 40 trades).
PROMISING_STATISTICS = {
    "n_trials": 3,
    "sharpe": 0.1,
    "sharpe_annualized": 2.0,
    "psr": 0.99,
    "dsr": 0.97,
    "bootstrap_ci": [0.5, 3.5],
    "min_track_record_bars": 300,
    "bars": 2000,
    "pbo": None,
    "trades": 40,
}
SHORT_STATISTICS = {**PROMISING_STATISTICS, "n_trials": 37, "dsr": 0.43}


class FakeStatistics:
    """The trial ledger's answer for a backtest: fixed statistics, each call remembered."""

    def __init__(self) -> None:
        self.figures: dict[str, Any] = dict(PROMISING_STATISTICS)
        self.calls: list[str] = []

    def statistics(self, backtest_operation_id: str) -> dict[str, Any]:
        self.calls.append(backtest_operation_id)
        return dict(self.figures)


class FakeStarter:
    """Creates a real child operation of the given type and remembers each call."""

    def __init__(self, operations: OperationsService, kind: OperationType) -> None:
        self.operations = operations
        self.kind = kind
        self.calls: list[dict[str, Any]] = []
        self.refusal: Exception | None = None

    def _child(self, parent: str, call: dict[str, Any]) -> str:
        self.calls.append(call)
        if self.refusal is not None:
            raise self.refusal
        return self.operations.create(self.kind, parent_operation_id=parent).operation_id

    def start(self, parent_operation_id: str, request: dict[str, Any]) -> str:
        return self._child(parent_operation_id, request)

    def start_training(self, strategy: Any, *, parent_operation_id: str | None = None) -> Any:
        op_id = self._child(parent_operation_id or "", {"strategy": strategy})
        return {"operation_id": op_id, "success": True}

    def start_backtest(
        self, model_path: str, *, parent_operation_id: str | None = None, mode: str | None = None
    ) -> Any:
        op_id = self._child(parent_operation_id or "", {"model_path": model_path, "mode": mode})
        return {"operation_id": op_id, "success": True}

    def evaluate(self, model_path: str, *, parent_operation_id: str | None = None) -> Any:
        op_id = self._child(parent_operation_id or "", {"model_path": model_path})
        return {"operation_id": op_id, "result": None}

    def evaluation(self, model_path: str) -> Any:
        """The stored look, judged from the holdout backtest the test completed."""
        assert {"model_path": model_path} in self.calls
        return {"model_path": model_path, "result": HOLDOUT_LOOK}


class Cycle:
    """A research operation plus the worker and fakes that drive it."""

    def __init__(self, tmp_path: Path, poll_interval: float = 0.05) -> None:
        store = OperationsStore.from_url(f"sqlite:///{tmp_path / 'ktrdr.db'}")
        self.ops = OperationsService(store, progress_min_interval=0.0)
        self.design = FakeStarter(self.ops, OperationType.AGENT_DESIGN)
        self.assess = FakeStarter(self.ops, OperationType.AGENT_ASSESSMENT)
        self.training = FakeStarter(self.ops, OperationType.TRAINING)
        self.backtest = FakeStarter(self.ops, OperationType.BACKTESTING)
        self.holdout = FakeStarter(self.ops, OperationType.BACKTESTING)
        self.statistics = FakeStatistics()
        self.memory = ExperimentMemory(store.engine)
        self.worker = AgentResearchWorker(
            self.ops,
            self.design,
            self.assess,
            self.training,
            self.backtest,
            self.holdout,
            memory=self.memory,
            settings=Settings(home=tmp_path, agent_poll_interval=poll_interval),
            statistics=self.statistics,
        )
        self.events: list[CycleEvent] = []
        self.worker.events.subscribe(self.events.append)
        self.strategy_path = tmp_path / "strategies" / EXAMPLE.name
        self.strategy_path.parent.mkdir(parents=True)
        shutil.copy(EXAMPLE, self.strategy_path)
        self.id = self.ops.create(
            OperationType.AGENT_RESEARCH, metadata={"parameters": {"phase": "idle"}}
        ).operation_id

    @property
    def params(self) -> dict[str, Any]:
        return self.ops.get(self.id).metadata.parameters

    def finish(self, key: str, result: dict[str, Any]) -> None:
        child = self.params[key]
        self.ops.start(child)
        self.ops.complete(child, result)

    def fail_child(self, key: str, message: str, code: str | None = None) -> None:
        child = self.params[key]
        self.ops.start(child)
        self.ops.fail(child, message, code=code)

    def to_training(self) -> None:
        self.worker.step(self.id)
        self.finish(
            "design_op_id",
            {"strategy_name": "sp500_nasdaq_pooled_mlp", "strategy_path": str(self.strategy_path)},
        )
        self.worker.step(self.id)

    def to_backtesting(self) -> None:
        self.to_training()
        self.finish("training_op_id", PASSING_TRAINING)
        self.worker.step(self.id)

    def to_holdout(self) -> None:
        self.to_assessing()
        self.finish("assessment_op_id", {"assessment_path": "/a.json", "verdict": "promising"})
        self.worker.step(self.id)

    def to_assessing(self) -> None:
        self.to_backtesting()
        self.finish("backtest_op_id", PASSING_BACKTEST)
        self.worker.step(self.id)


@pytest.fixture
def cycle(tmp_path: Path) -> Cycle:
    return Cycle(tmp_path)


def test_idle_starts_the_design(cycle: Cycle) -> None:
    assert cycle.worker.step(cycle.id) is False
    op = cycle.ops.get(cycle.id)
    assert op.status is OperationStatus.RUNNING
    assert cycle.params["phase"] == "designing"
    assert cycle.ops.get(cycle.params["design_op_id"]).parent_operation_id == cycle.id
    assert op.progress.percentage == 5


def test_completed_design_starts_the_real_training_with_the_strategy_config(cycle: Cycle) -> None:
    cycle.to_training()
    (call,) = cycle.training.calls
    assert call["strategy"].name == "sp500_nasdaq_pooled_mlp"
    assert call["strategy"].symbols() == ["SP500", "NASDAQ"]
    assert cycle.ops.get(cycle.params["training_op_id"]).parent_operation_id == cycle.id
    params = cycle.params
    assert params["phase"] == "training"
    assert params["strategy_name"] == "sp500_nasdaq_pooled_mlp"
    training = cycle.ops.get(params["training_op_id"])
    assert training.operation_type is OperationType.TRAINING
    assert cycle.ops.get(cycle.id).progress.percentage == 20


def test_running_training_keeps_the_phase_and_mirrors_progress(cycle: Cycle) -> None:
    cycle.to_training()
    child = cycle.params["training_op_id"]
    cycle.ops.start(child)
    cycle.ops.update_progress(child, percentage=50, current_step="epoch 5/10")
    assert cycle.worker.step(cycle.id) is False
    assert cycle.params["phase"] == "training"
    progress = cycle.ops.get(cycle.id).progress
    assert progress.percentage == pytest.approx(42.5)
    assert progress.current_step == "training: epoch 5/10"


def test_passing_training_gate_starts_the_backtest(cycle: Cycle) -> None:
    cycle.to_backtesting()
    params = cycle.params
    assert params["phase"] == "backtesting"
    assert params["training_gate"] == {"passed": True, "reason": "passed"}
    assert params["training_result"] == PASSING_TRAINING
    assert params["model_path"] == "/models/x/v1"
    assert cycle.backtest.calls[0] == {"model_path": "/models/x/v1", "mode": "walk_forward"}
    assert cycle.ops.get(params["backtest_op_id"]).operation_type is OperationType.BACKTESTING


def test_failing_training_gate_fails_the_cycle_with_the_reason_and_records_it(cycle: Cycle) -> None:
    cycle.to_training()
    cycle.finish("training_op_id", FAILING_TRAINING)
    assert cycle.worker.step(cycle.id) is True
    op = cycle.ops.get(cycle.id)
    assert op.status is OperationStatus.FAILED
    assert op.error_message == "Training gate failed: accuracy_below_threshold (38.3% < 40.0%)"
    assert cycle.backtest.calls == []
    record = cycle.memory.get(cycle.id)
    assert record.status == "gate_failed"
    assert record.gates["training"]["passed"] is False


def test_gate_thresholds_come_from_the_trigger(cycle: Cycle) -> None:
    cycle.ops.update_parameters(cycle.id, {"gates": {"training_min_accuracy": 0.3}})
    cycle.to_training()
    cycle.finish("training_op_id", FAILING_TRAINING)
    cycle.worker.step(cycle.id)
    assert cycle.params["phase"] == "backtesting"


NO_SKILL_TRAINING = {
    **PASSING_TRAINING,
    "test_metrics": {**PASSING_TRAINING["test_metrics"], "balanced_accuracy": 0.341},
}


def test_a_model_without_skill_over_chance_fails_the_training_gate(cycle: Cycle) -> None:
    cycle.to_training()
    cycle.finish("training_op_id", NO_SKILL_TRAINING)
    cycle.worker.step(cycle.id)
    op = cycle.ops.get(cycle.id)
    assert op.status is OperationStatus.FAILED
    assert op.error_message == (
        "Training gate failed: no_skill_over_chance "
        "(balanced accuracy 34.1% - chance 33.3% = 0.8% < 2.0%)"
    )


def test_the_trigger_overrides_the_baseline_thresholds(cycle: Cycle) -> None:
    gates = {"training_min_skill": 0.0, "training_min_log_loss_skill": -0.5}
    cycle.ops.update_parameters(cycle.id, {"gates": gates})
    cycle.to_training()
    cycle.finish("training_op_id", NO_SKILL_TRAINING)
    cycle.worker.step(cycle.id)
    assert cycle.params["phase"] == "backtesting"
    assert cycle.params["training_gate"] == {"passed": True, "reason": "passed"}


def test_passing_backtest_gate_starts_the_assessment(cycle: Cycle) -> None:
    cycle.to_assessing()
    params = cycle.params
    assert params["phase"] == "assessing"
    assert params["backtest_gate"] == {"passed": True, "reason": "passed"}
    (request,) = cycle.assess.calls
    assert request["strategy_name"] == "sp500_nasdaq_pooled_mlp"
    assert request["backtest_result"] == PASSING_BACKTEST


def test_failing_backtest_gate_fails_the_cycle(cycle: Cycle) -> None:
    cycle.to_backtesting()
    cycle.finish("backtest_op_id", FAILING_BACKTEST)
    assert cycle.worker.step(cycle.id) is True
    op = cycle.ops.get(cycle.id)
    assert op.error_message == "Backtest gate failed: too_few_trades (3 < 5)"
    assert cycle.memory.get(cycle.id).status == "gate_failed"


@pytest.mark.parametrize("verdict", ["neutral", "poor"])
def test_an_assessment_short_of_promising_completes_the_cycle_without_a_holdout_look(
    cycle: Cycle, verdict: str
) -> None:
    cycle.to_assessing()
    cycle.finish("assessment_op_id", {"assessment_path": "/a.json", "verdict": verdict})
    assert cycle.worker.step(cycle.id) is True
    op = cycle.ops.get(cycle.id)
    assert op.status is OperationStatus.COMPLETED
    assert op.progress.percentage == 100
    summary = op.result_summary
    assert summary["verdict"] == verdict
    assert summary["holdout"] is None
    assert summary["trades_path"] == "/bt/trades.parquet"
    assert summary["backtest_metrics"]["total_trades"] == 12
    assert cycle.holdout.calls == []
    record = cycle.memory.get(cycle.id)
    assert record.status == "completed" and record.verdict == verdict
    assert record.strategy["name"] == "sp500_nasdaq_pooled_mlp"
    assert record.statistics == PROMISING_STATISTICS
    assert summary["deterministic_verdict"] == "promising"
    assert summary["assessor_verdict"] == verdict


def test_the_backtest_is_counted_and_its_statistics_stored_before_the_assessment(
    cycle: Cycle,
) -> None:
    cycle.to_assessing()
    assert cycle.statistics.calls == [cycle.params["backtest_op_id"]]
    assert cycle.params["statistics"] == PROMISING_STATISTICS
    assert cycle.params["deterministic_verdict"] == "promising"
    assert cycle.params["verdict_reason"].startswith("dsr 0.97 >= 0.95 (3 trials)")
    (request,) = cycle.assess.calls
    assert request["statistics"] == PROMISING_STATISTICS
    assert request["deterministic_verdict"] == "promising"
    assert request["verdict_reason"] == cycle.params["verdict_reason"]


def test_an_assessor_cannot_raise_the_deterministic_verdict(cycle: Cycle) -> None:
    cycle.statistics.figures = dict(SHORT_STATISTICS)
    cycle.to_assessing()
    assert cycle.params["deterministic_verdict"] == "neutral"
    assert cycle.params["verdict_reason"] == "dsr 0.43 < 0.95 (37 trials)"
    cycle.finish("assessment_op_id", {"assessment_path": "/a.json", "verdict": "promising"})
    assert cycle.worker.step(cycle.id) is True
    summary = cycle.ops.get(cycle.id).result_summary
    assert summary["verdict"] == "neutral" and summary["assessor_verdict"] == "promising"
    assert summary["verdict_reason"] == "dsr 0.43 < 0.95 (37 trials)"
    assert summary["statistics"]["n_trials"] == 37
    assert summary["holdout"] is None and cycle.holdout.calls == []


def test_the_verdict_thresholds_come_from_the_settings(tmp_path: Path) -> None:
    cycle = Cycle(tmp_path)
    cycle.worker.services = dataclasses.replace(
        cycle.worker.services,
        settings=Settings(home=tmp_path, verdict_min_dsr=0.4, verdict_min_trades=50),
    )
    cycle.statistics.figures = dict(SHORT_STATISTICS)
    cycle.to_assessing()
    assert cycle.params["deterministic_verdict"] == "neutral"
    assert cycle.params["verdict_reason"] == "trades 40 < 50"


def test_a_promising_assessment_takes_the_model_to_its_holdout(cycle: Cycle) -> None:
    cycle.to_assessing()
    cycle.finish("assessment_op_id", {"assessment_path": "/a.json", "verdict": "promising"})
    assert cycle.worker.step(cycle.id) is False
    assert cycle.params["phase"] == "holdout"
    assert cycle.holdout.calls == [{"model_path": "/models/x/v1"}]
    cycle.finish("holdout_op_id", HOLDOUT_BACKTEST)
    assert cycle.worker.step(cycle.id) is True
    op = cycle.ops.get(cycle.id)
    assert op.status is OperationStatus.COMPLETED
    assert op.result_summary["verdict"] == "promising"
    assert op.result_summary["holdout"] == {
        "verdict": "not_confirmed",
        "reason": "psr 0.61 < 0.90",
        "psr": 0.61,
        "looks": 1,
        "metrics": HOLDOUT_BACKTEST["metrics"],
        "start_date": HOLDOUT_BACKTEST["start_date"],
        "end_date": HOLDOUT_BACKTEST["end_date"],
    }


@pytest.mark.parametrize(
    ("phase_setup", "key", "noun"),
    [
        ("to_training", "training_op_id", "Training"),
        ("to_backtesting", "backtest_op_id", "Backtest"),
        ("to_assessing", "assessment_op_id", "Assessment"),
        ("to_holdout", "holdout_op_id", "Holdout evaluation"),
    ],
)
def test_failed_child_fails_the_cycle(cycle: Cycle, phase_setup: str, key: str, noun: str) -> None:
    getattr(cycle, phase_setup)()
    cycle.fail_child(key, "boom")
    assert cycle.worker.step(cycle.id) is True
    assert cycle.ops.get(cycle.id).error_message == f"{noun} failed: boom"
    assert cycle.memory.get(cycle.id).status == "failed"


def test_failed_design_fails_the_cycle(cycle: Cycle) -> None:
    cycle.worker.step(cycle.id)
    cycle.fail_child("design_op_id", "no valid strategy")
    cycle.worker.step(cycle.id)
    assert cycle.ops.get(cycle.id).error_message == "Design failed: no valid strategy"


def test_a_child_lost_with_the_server_is_restarted_once(cycle: Cycle) -> None:
    lost = "lost: server restarted"
    cycle.to_training()
    first = cycle.params["training_op_id"]
    cycle.fail_child("training_op_id", lost, code=FailureCode.ORPHANED)
    assert cycle.worker.step(cycle.id) is False
    second = cycle.params["training_op_id"]
    assert second != first and len(cycle.training.calls) == 2
    assert cycle.params["restarted_phases"] == ["training"]
    cycle.fail_child("training_op_id", lost, code=FailureCode.ORPHANED)
    assert cycle.worker.step(cycle.id) is True
    assert cycle.ops.get(cycle.id).error_message == f"Training failed: {lost}"


def test_a_failure_that_only_reads_like_a_lost_child_is_not_restarted(cycle: Cycle) -> None:
    cycle.to_training()
    cycle.fail_child("training_op_id", "lost: server restarted")  # the message, but no code
    assert cycle.worker.step(cycle.id) is True
    assert len(cycle.training.calls) == 1


@pytest.mark.parametrize(
    ("phase_setup", "starter", "noun"),
    [
        ("to_training", "backtest", "Backtest"),
        ("to_backtesting", "assess", "Assessment"),
        ("worker_step", "design", "Design"),
    ],
)
def test_a_child_that_cannot_start_fails_the_cycle_in_its_own_phase_name(
    cycle: Cycle, phase_setup: str, starter: str, noun: str
) -> None:
    refusal = DataError("no EURUSD 1h bars after the model's training range")
    getattr(cycle, starter).refusal = refusal
    if phase_setup == "worker_step":
        assert cycle.worker.step(cycle.id) is True
    else:
        getattr(cycle, phase_setup)()
        key = "training_op_id" if starter == "backtest" else "backtest_op_id"
        cycle.finish(key, PASSING_TRAINING if starter == "backtest" else PASSING_BACKTEST)
        assert cycle.worker.step(cycle.id) is True
    op = cycle.ops.get(cycle.id)
    assert op.status is OperationStatus.FAILED
    assert op.error_message == f"{noun} failed: {refusal.message}"
    assert cycle.memory.get(cycle.id).status == "failed"


def test_a_cycle_publishes_its_events_in_order(cycle: Cycle) -> None:
    cycle.to_holdout()
    cycle.finish("holdout_op_id", HOLDOUT_BACKTEST)
    cycle.worker.step(cycle.id)
    entered = [e.phase for e in cycle.events if isinstance(e, PhaseEntered)]
    assert entered == [
        Phase.DESIGNING,
        Phase.TRAINING,
        Phase.BACKTESTING,
        Phase.ASSESSING,
        Phase.HOLDOUT,
    ]
    gates = [(e.gate, e.passed) for e in cycle.events if isinstance(e, GateChecked)]
    assert gates == [("training", True), ("backtest", True)]
    concluded, finished = cycle.events[-2:]
    assert isinstance(concluded, CycleConcluded) and isinstance(finished, CycleFinished)
    assert concluded.operation.status is OperationStatus.COMPLETED
    assert finished.operation.status is OperationStatus.COMPLETED


def test_the_state_is_written_once_per_transition(
    cycle: Cycle, monkeypatch: pytest.MonkeyPatch
) -> None:
    writes: list[str] = []
    real = cycle.ops.record_state

    def record_state(operation_id: str, parameters: dict[str, Any], **kwargs: Any) -> Any:
        writes.append(parameters["phase"])
        return real(operation_id, parameters, **kwargs)

    monkeypatch.setattr(cycle.ops, "record_state", record_state)
    monkeypatch.setattr(cycle.ops, "update_parameters", None)  # the old per-key writes are gone
    cycle.to_backtesting()
    assert writes == ["designing", "training", "backtesting"]


@pytest.mark.parametrize("phase_setup", ["to_training", "to_backtesting", "to_assessing"])
def test_cancelling_the_cycle_cancels_the_current_child(cycle: Cycle, phase_setup: str) -> None:
    getattr(cycle, phase_setup)()
    key = {"to_training": "training_op_id", "to_backtesting": "backtest_op_id"}.get(
        phase_setup, "assessment_op_id"
    )
    child = cycle.params[key]
    cycle.ops.cancel(cycle.id)
    assert cycle.ops.get(child).status is OperationStatus.CANCELLED
    assert cycle.worker.step(cycle.id) is True
    assert cycle.memory.get(cycle.id).status == "cancelled"


def test_cancelling_the_design_cancels_the_cycle_on_the_next_tick(cycle: Cycle) -> None:
    cycle.worker.step(cycle.id)
    cycle.ops.cancel(cycle.params["design_op_id"])
    assert cycle.worker.step(cycle.id) is True
    assert cycle.ops.get(cycle.id).status is OperationStatus.CANCELLED


def test_cancelling_the_training_child_cancels_the_cycle(cycle: Cycle) -> None:
    cycle.to_training()
    cycle.ops.cancel(cycle.params["training_op_id"])
    cycle.worker.step(cycle.id)
    assert cycle.ops.get(cycle.id).status is OperationStatus.CANCELLED


def test_run_returns_once_the_cycle_is_cancelled(cycle: Cycle) -> None:
    cycle.to_training()
    cycle.ops.cancel(cycle.id)
    cycle.worker.run(cycle.id)
    assert cycle.ops.get(cycle.id).status is OperationStatus.CANCELLED


def test_a_user_strategy_skips_the_design(cycle: Cycle) -> None:
    cycle.ops.update_parameters(
        cycle.id,
        {"strategy_name": "sp500_nasdaq_pooled_mlp", "strategy_path": str(cycle.strategy_path)},
    )
    cycle.worker.step(cycle.id)
    assert cycle.design.calls == []
    assert cycle.params["phase"] == "training"


def test_the_loop_wakes_as_soon_as_the_child_finishes(tmp_path: Path) -> None:
    cycle = Cycle(tmp_path, poll_interval=60.0)
    cycle.to_training()
    loop = threading.Thread(target=cycle.worker.run, args=(cycle.id,), daemon=True)
    loop.start()
    cycle.finish("training_op_id", PASSING_TRAINING)
    eventually(lambda: cycle.params["phase"] == "backtesting", "backtest started", timeout=2.0)
    cycle.ops.cancel(cycle.id)
    loop.join(timeout=5)
    assert not loop.is_alive()


def test_the_experiment_is_recorded_before_the_cycle_turns_terminal(
    cycle: Cycle, monkeypatch: pytest.MonkeyPatch
) -> None:
    recorded_at_fail: list[str] = []
    real_fail = cycle.ops.fail

    def fail(operation_id: str, message: str, **kwargs: Any):  # type: ignore[no-untyped-def]
        if operation_id == cycle.id:
            recorded_at_fail.append(cycle.memory.get(cycle.id).status)
        return real_fail(operation_id, message, **kwargs)

    monkeypatch.setattr(cycle.ops, "fail", fail)
    cycle.to_training()
    cycle.finish("training_op_id", FAILING_TRAINING)
    cycle.worker.step(cycle.id)
    assert recorded_at_fail == ["gate_failed"]
