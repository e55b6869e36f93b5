"""The research-cycle orchestrator (DESIGN §4): design, train, gate, backtest, gate, assess.

``AgentResearchWorker.run(operation_id)`` loops: read the research operation from the store, act
on its phase, persist, sleep. It never awaits a child's work: it starts each child through a
service (the real ``TrainingService`` / ``BacktestingService``), stores the child's id in the
parent's ``metadata.parameters`` and polls the child's operation on later ticks.
"""

from __future__ import annotations

import logging
import threading
import time
from typing import Any, Protocol

from ktrdr import observability
from ktrdr.agents.experiments import record_experiment
from ktrdr.agents.gates import GateThresholds, check_backtest_gate, check_training_gate
from ktrdr.agents.memory import ExperimentMemory
from ktrdr.agents.workers import ChildStarter
from ktrdr.errors import (
    GateFailedError,
    InvalidTransitionError,
    InvariantError,
    KtrdrError,
    TransientError,
)
from ktrdr.execution import ORPHANED_MESSAGE
from ktrdr.execution.events import JobEvents
from ktrdr.operations import TERMINAL_STATUSES, Operation, OperationsService, OperationStatus
from ktrdr.operations.models import utc_now
from ktrdr.settings import Settings, get_settings
from ktrdr.strategy import load_strategy

logger = logging.getLogger(__name__)

SLEEP_SLICE_SECONDS = 0.1
PHASE_PROGRESS = {"designing": 5.0, "training": 20.0, "backtesting": 65.0, "assessing": 90.0}
PHASE_SPAN = {"designing": 15.0, "training": 45.0, "backtesting": 25.0, "assessing": 10.0}
CHILD_KEY = {
    "designing": "design_op_id",
    "training": "training_op_id",
    "backtesting": "backtest_op_id",
    "assessing": "assessment_op_id",
}
PHASE_NOUN = {
    "designing": "Design",
    "training": "Training",
    "backtesting": "Backtest",
    "assessing": "Assessment",
}


class TrainingStarter(Protocol):
    """What the orchestrator needs of ``TrainingService``."""

    def start_training(self, strategy: Any, **kwargs: Any) -> dict[str, Any]: ...


class BacktestStarter(Protocol):
    """What the orchestrator needs of ``BacktestingService``."""

    def start_backtest(self, model_path: str, **kwargs: Any) -> dict[str, Any]: ...


class AgentResearchWorker:
    """Drives one research operation through its phases until it is terminal."""

    def __init__(
        self,
        operations_service: OperationsService,
        design_worker: ChildStarter,
        assessment_worker: ChildStarter,
        training_service: TrainingStarter | None = None,
        backtest_service: BacktestStarter | None = None,
        *,
        memory: ExperimentMemory | None = None,
        settings: Settings | None = None,
        job_events: JobEvents | None = None,
    ) -> None:
        self.operations = operations_service
        self.design_worker = design_worker
        self.assessment_worker = assessment_worker
        self._training = training_service
        self._backtest = backtest_service
        self.memory = memory or ExperimentMemory(operations_service.store.engine)
        self.settings = settings or get_settings()
        self._wakeups: dict[str, threading.Event] = {}
        if job_events is not None:
            job_events.subscribe(self._on_job_ended)

    @property
    def training_service(self) -> TrainingStarter:
        """The real TrainingService (a fake in unit tests)."""
        if self._training is None:
            raise InvariantError("the research worker was built without a training service")
        return self._training

    @property
    def backtest_service(self) -> BacktestStarter:
        """The real BacktestingService (a fake in unit tests)."""
        if self._backtest is None:
            raise InvariantError("the research worker was built without a backtesting service")
        return self._backtest

    def run(self, operation_id: str, stop: threading.Event | None = None) -> None:
        """Tick until the research operation is terminal (or ``stop`` is set: server shutdown)."""
        stop = stop or threading.Event()
        self._wakeups[operation_id] = threading.Event()
        logger.info("research %s: loop started", operation_id)
        observability.start_cycle(operation_id)
        try:
            while not self._tick(operation_id):
                try:
                    self._sleep(operation_id, stop)
                except TransientError:
                    stop.wait(self.settings.agent_poll_interval)  # store down: wait, then retry
                if stop.is_set():
                    logger.info("research %s: loop stopped with the server", operation_id)
                    observability.stop_cycle(operation_id)
                    return
        finally:
            self._wakeups.pop(operation_id, None)
        logger.info("research %s: loop finished", operation_id)

    def _tick(self, operation_id: str) -> bool:
        # A store outage (e.g. PostgreSQL restarting) is waited out: the store still holds the
        # last persisted phase, so a later tick continues from there.
        try:
            return self.step(operation_id)
        except TransientError as exc:
            logger.warning("research %s: store unavailable, retrying: %s", operation_id, exc)
            return False

    def step(self, operation_id: str) -> bool:
        """One tick: act on the current phase and persist. True once the research is terminal."""
        parent = self.operations.get(operation_id)
        if parent.is_terminal:
            self._record_terminal(parent)
            return True
        if parent.status is OperationStatus.PENDING:
            self.operations.start(operation_id)
        phase = parent.metadata.parameters.get("phase", "idle")
        try:
            if phase == "idle":
                self._begin(parent)
            else:
                self._advance(parent, phase)
        except InvalidTransitionError:
            logger.info("research %s: changed under us (cancelled?), re-reading", operation_id)
        except TransientError:
            raise  # not the phase's fault: retried on the next tick
        except GateFailedError as exc:
            self._finish_failed(operation_id, exc.message, status="gate_failed")
        except KtrdrError as exc:
            noun = PHASE_NOUN.get(self._phase(operation_id), "Research")
            self._finish_failed(operation_id, f"{noun} failed: {exc.message}")
        parent = self.operations.get(operation_id)
        if parent.is_terminal:
            self._record_terminal(parent)
        return parent.is_terminal

    # -- phases ---------------------------------------------------------------------------

    def _begin(self, parent: Operation) -> None:
        params = parent.metadata.parameters
        if params.get("strategy_path"):
            self._start_training(parent.operation_id)  # the user chose the strategy: no design
            return
        request = {
            "designer": params.get("designer", "offline"),
            "brief": params.get("brief"),
            "seed": params.get("seed", self.settings.agent_seed),
            "model": params.get("llm_model"),
        }
        child = self.design_worker.start(parent.operation_id, request)
        self._enter(parent.operation_id, "designing", design_op_id=child)

    def _advance(self, parent: Operation, phase: str) -> None:
        params = parent.metadata.parameters
        child = self.operations.get(params[CHILD_KEY[phase]])
        if not child.is_terminal:
            self._mirror_child_progress(parent, phase, child)
            return
        if child.status is OperationStatus.CANCELLED:
            self.operations.cancel(parent.operation_id, f"{PHASE_NOUN[phase].lower()} cancelled")
            return
        if child.status is OperationStatus.FAILED:
            self._child_failed(parent, phase, child)
            return
        {
            "designing": self._designed,
            "training": self._trained,
            "backtesting": self._backtested,
            "assessing": self._assessed,
        }[phase](parent.operation_id, child.result_summary or {})

    def _designed(self, operation_id: str, result: dict[str, Any]) -> None:
        observability.spend_recorded("designing", result)
        self._set(
            operation_id,
            strategy_name=result["strategy_name"],
            strategy_path=result["strategy_path"],
            design=result.get("design", {}),
            llm_model=result.get("llm_model"),
            **self._spend(operation_id, result),
        )
        self._start_training(operation_id)

    def _start_training(self, operation_id: str) -> None:
        params = self.operations.get(operation_id).metadata.parameters
        strategy = load_strategy(params["strategy_path"])
        started = self.training_service.start_training(
            strategy,
            symbols=strategy.symbols() or ["EURUSD"],
            timeframes=strategy.timeframes() or ["1h"],
            parent_operation_id=operation_id,
        )
        self._enter(operation_id, "training", training_op_id=started["operation_id"])

    def _trained(self, operation_id: str, result: dict[str, Any]) -> None:
        passed, reason = check_training_gate(result, self._thresholds(operation_id))
        observability.gate_checked("training", passed)
        self._set(
            operation_id,
            training_result=result,
            model_path=result.get("model_path"),
            training_gate={"passed": passed, "reason": reason},
        )
        if not passed:
            raise GateFailedError(f"Training gate failed: {reason}", gate="training", reason=reason)
        self._start_backtest(operation_id)

    def _start_backtest(self, operation_id: str) -> None:
        params = self.operations.get(operation_id).metadata.parameters
        started = self.backtest_service.start_backtest(
            params["model_path"], parent_operation_id=operation_id
        )
        self._enter(operation_id, "backtesting", backtest_op_id=started["operation_id"])

    def _backtested(self, operation_id: str, result: dict[str, Any]) -> None:
        passed, reason = check_backtest_gate(result, self._thresholds(operation_id))
        observability.gate_checked("backtest", passed)
        self._set(
            operation_id, backtest_result=result, backtest_gate={"passed": passed, "reason": reason}
        )
        if not passed:
            raise GateFailedError(f"Backtest gate failed: {reason}", gate="backtest", reason=reason)
        self._start_assessment(operation_id)

    def _start_assessment(self, operation_id: str) -> None:
        params = self.operations.get(operation_id).metadata.parameters
        request = {
            "assessor": params.get("assessor", "offline"),
            "strategy_name": params["strategy_name"],
            "strategy_path": params["strategy_path"],
            "training_result": params.get("training_result"),
            "backtest_result": params.get("backtest_result"),
            "gates": {
                "training": params.get("training_gate"),
                "backtest": params.get("backtest_gate"),
            },
            "experiment_id": operation_id,
        }
        child = self.assessment_worker.start(operation_id, request)
        self._enter(operation_id, "assessing", assessment_op_id=child)

    def _assessed(self, operation_id: str, result: dict[str, Any]) -> None:
        observability.spend_recorded("assessing", result)
        self._set(
            operation_id,
            assessment_path=result.get("assessment_path"),
            verdict=result.get("verdict"),
            **self._spend(operation_id, result),
        )
        params = self.operations.get(operation_id).metadata.parameters
        self._record_ahead(operation_id, OperationStatus.COMPLETED, None)
        self.operations.complete(operation_id, cycle_summary(params))

    # -- children that did not complete -----------------------------------------------------

    def _child_failed(self, parent: Operation, phase: str, child: Operation) -> None:
        params = parent.metadata.parameters
        restarted = params.get("restarted_phases", [])
        if child.error_message == ORPHANED_MESSAGE and phase not in restarted:
            logger.warning(
                "research %s: %s child lost, restarting the phase", parent.operation_id, phase
            )
            self._set(parent.operation_id, restarted_phases=[*restarted, phase])
            restart = {
                "designing": lambda: self._begin(self.operations.get(parent.operation_id)),
                "training": lambda: self._start_training(parent.operation_id),
                "backtesting": lambda: self._start_backtest(parent.operation_id),
                "assessing": lambda: self._start_assessment(parent.operation_id),
            }
            restart[phase]()
            return
        self._finish_failed(
            parent.operation_id, f"{PHASE_NOUN[phase]} failed: {child.error_message}"
        )

    def _finish_failed(self, operation_id: str, message: str, status: str = "failed") -> None:
        self._set(operation_id, outcome=status)
        self._record_ahead(operation_id, OperationStatus.FAILED, message)
        self.operations.fail(operation_id, message)
        logger.info("research %s: %s", operation_id, message)

    # -- bookkeeping -------------------------------------------------------------------------

    def _record_ahead(self, operation_id: str, status: OperationStatus, error: str | None) -> None:
        """Record the experiment before the research turns terminal, so whoever sees the
        outcome also finds the record; ``_record_terminal`` corrects it if a cancel won."""
        current = self.operations.get(operation_id)
        outcome = current.model_copy(update={"status": status, "error_message": error})
        record_experiment(self.memory, outcome)

    def _record_terminal(self, parent: Operation) -> None:
        record_experiment(self.memory, parent)  # an upsert: recording twice is harmless
        params = parent.metadata.parameters
        observability.finish_cycle(parent.operation_id, parent.status.value, params)

    def _enter(self, operation_id: str, phase: str, **params: Any) -> None:
        previous = self.operations.get(operation_id).metadata.parameters
        observability.phase_finished(operation_id, previous)
        self._set(operation_id, phase=phase, phase_started_at=utc_now().isoformat(), **params)
        self.operations.update_progress(
            operation_id, percentage=PHASE_PROGRESS[phase], current_step=phase, force=True
        )

    def _mirror_child_progress(self, parent: Operation, phase: str, child: Operation) -> None:
        share = child.progress.percentage / 100.0 * PHASE_SPAN[phase]
        percentage = PHASE_PROGRESS[phase] + share
        if percentage > parent.progress.percentage + 0.5:
            step = f"{phase}: {child.progress.current_step or child.status.value}"
            self.operations.update_progress(
                parent.operation_id, percentage=percentage, current_step=step
            )

    def _set(self, operation_id: str, **params: Any) -> None:
        self.operations.update_parameters(operation_id, params)

    def _phase(self, operation_id: str) -> str:
        return self.operations.get(operation_id).metadata.parameters.get("phase", "idle")

    def _thresholds(self, operation_id: str) -> GateThresholds:
        overrides = self.operations.get(operation_id).metadata.parameters.get("gates") or {}
        return GateThresholds.from_settings(self.settings, overrides)

    def _spend(self, operation_id: str, result: dict[str, Any]) -> dict[str, Any]:
        params = self.operations.get(operation_id).metadata.parameters
        tokens = dict(params.get("tokens") or {"input": 0, "output": 0})
        used = result.get("tokens") or {}
        tokens["input"] = tokens.get("input", 0) + int(used.get("input", 0))
        tokens["output"] = tokens.get("output", 0) + int(used.get("output", 0))
        cost = float(params.get("cost_usd") or 0.0) + float(result.get("cost_usd") or 0.0)
        return {"tokens": tokens, "cost_usd": round(cost, 6)}

    def _on_job_ended(self, operation_id: str) -> None:
        parent = self.operations.get(operation_id).parent_operation_id
        wake = self._wakeups.get(parent) if parent else None
        if wake is not None:
            wake.set()

    def _sleep(self, operation_id: str, stop: threading.Event) -> None:
        """Sleep one poll interval in slices; wake at once on cancellation or a finished child.

        The executor's job-ended notice wakes the loop within milliseconds; between notices,
        each slice reads the status of the research and its current child (one query), which
        also catches children that ended elsewhere (another server, a cancel).
        """
        params = self.operations.get(operation_id).metadata.parameters
        child = params.get(CHILD_KEY.get(params.get("phase", "idle"), ""))
        watched = [operation_id, child] if child else [operation_id]
        wake = self._wakeups.setdefault(operation_id, threading.Event())
        deadline = time.monotonic() + self.settings.agent_poll_interval
        while time.monotonic() < deadline and not stop.is_set():
            if wake.wait(min(SLEEP_SLICE_SECONDS, max(0.0, deadline - time.monotonic()))):
                wake.clear()
                return
            statuses = self.operations.store.statuses(watched)
            if statuses.get(operation_id) is OperationStatus.CANCELLED:
                return
            if child and statuses.get(child) in TERMINAL_STATUSES:
                return


def cycle_summary(params: dict[str, Any]) -> dict[str, Any]:
    """The research operation's result_summary: what was tried, gates, key metrics, artifacts."""
    training = params.get("training_result") or {}
    backtest = params.get("backtest_result") or {}
    return {
        "strategy_name": params.get("strategy_name"),
        "verdict": params.get("verdict"),
        "training_gate": params.get("training_gate"),
        "backtest_gate": params.get("backtest_gate"),
        "test_metrics": training.get("test_metrics"),
        "backtest_metrics": backtest.get("metrics"),
        "strategy_path": params.get("strategy_path"),
        "model_path": params.get("model_path"),
        "trades_path": (backtest.get("artifacts") or {}).get("trades"),
        "assessment_path": params.get("assessment_path"),
        "tokens": params.get("tokens"),
        "cost_usd": params.get("cost_usd"),
    }
