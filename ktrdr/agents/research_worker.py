"""The research-cycle orchestrator (DESIGN §4): design, train, backtest, assess, holdout.

``AgentResearchWorker.run(operation_id)`` loops: read the research operation from the store, act
on its phase, persist, sleep. It never awaits a child's work: it starts each child through a
service (the real ``TrainingService`` / ``BacktestingService``), stores the child's id in the
parent's state and polls the child's operation on later ticks. What each phase starts and what its
result leads to is the table in ``cycle/steps.py``; this loop persists those decisions (one write
per transition, phases checked against ``cycle/phases.py``) and publishes them as cycle events.
"""

from __future__ import annotations

import logging
import threading
import time
from datetime import UTC, datetime

from ktrdr.agents.cycle.events import (
    CycleConcluded,
    CycleEvents,
    CycleFinished,
    CycleInterrupted,
    CycleStarted,
    PhaseEntered,
)
from ktrdr.agents.cycle.phases import Phase, check_phase_transition
from ktrdr.agents.cycle.state import CycleState
from ktrdr.agents.cycle.steps import (
    PHASES,
    BacktestStarter,
    ChildStarter,
    Completion,
    CycleServices,
    HoldoutStarter,
    StatisticsSource,
    TrainingStarter,
)
from ktrdr.agents.cycle.telemetry import observe
from ktrdr.agents.experiments import ExperimentRecorder
from ktrdr.agents.memory import ExperimentMemory
from ktrdr.data import DataRepository, DataWindows
from ktrdr.errors import InvalidTransitionError, KtrdrError, TransientError
from ktrdr.evaluation.trial_statistics import ResearchStatistics
from ktrdr.evaluation.trials import TrialLedger
from ktrdr.execution.events import JobEvents
from ktrdr.operations import (
    TERMINAL_STATUSES,
    FailureCode,
    Operation,
    OperationsService,
    OperationStatus,
)
from ktrdr.settings import Settings, get_settings

logger = logging.getLogger(__name__)

SLEEP_SLICE_SECONDS = 0.1


class AgentResearchWorker:
    """Drives one research operation through its phases until it is terminal."""

    def __init__(
        self,
        operations_service: OperationsService,
        design_worker: ChildStarter,
        assessment_worker: ChildStarter,
        training_service: TrainingStarter,
        backtest_service: BacktestStarter,
        holdout_service: HoldoutStarter,
        *,
        memory: ExperimentMemory | None = None,
        settings: Settings | None = None,
        job_events: JobEvents | None = None,
        statistics: StatisticsSource | None = None,
    ) -> None:
        self.operations = operations_service
        self.settings = settings or get_settings()
        self.services = CycleServices(
            design=design_worker,
            assessment=assessment_worker,
            training=training_service,
            backtest=backtest_service,
            holdout=holdout_service,
            statistics=statistics or self._statistics(),
            settings=self.settings,
        )
        self.memory = memory or ExperimentMemory(operations_service.store.engine)
        self.events = CycleEvents()
        self.events.subscribe(ExperimentRecorder(self.memory))
        self.events.subscribe(observe)
        self._wakeups: dict[str, threading.Event] = {}
        self._watched_child: dict[str, str | None] = {}
        if job_events is not None:
            job_events.subscribe(self._on_job_ended)

    def _statistics(self) -> ResearchStatistics:
        """The trial ledger on this store and the settings' data windows."""
        data = DataRepository(self.settings.path("data"))
        windows = DataWindows(
            self.operations.store.engine, data, holdout_fraction=self.settings.holdout_fraction
        )
        return ResearchStatistics(TrialLedger(self.operations, windows))

    def run(self, operation_id: str, stop: threading.Event | None = None) -> None:
        """Tick until the research operation is terminal (or ``stop`` is set: server shutdown)."""
        stop = stop or threading.Event()
        self._wakeups[operation_id] = threading.Event()
        logger.info("research %s: loop started", operation_id)
        self.events.publish(CycleStarted(operation_id))
        try:
            while not self._tick(operation_id):
                try:
                    self._sleep(operation_id, stop)
                except TransientError:
                    stop.wait(self.settings.agent_poll_interval)  # store down: wait, then retry
                if stop.is_set():
                    logger.info("research %s: loop stopped with the server", operation_id)
                    self.events.publish(CycleInterrupted(operation_id))
                    return
        finally:
            self._wakeups.pop(operation_id, None)
            self._watched_child.pop(operation_id, None)
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
        state = CycleState.from_parameters(parent.metadata.parameters)
        if parent.is_terminal:
            self.events.publish(CycleFinished(parent, state))
            return True
        if parent.status is OperationStatus.PENDING:
            parent = self.operations.start(operation_id)
        try:
            if state.phase is Phase.IDLE:
                first = Phase.TRAINING if state.strategy_path else Phase.DESIGNING
                return self._enter(parent, state, first)
            return self._advance(parent, state)
        except InvalidTransitionError:
            logger.info("research %s: changed under us (cancelled?), re-reading", operation_id)
            if self.operations.store.status_of(operation_id) in TERMINAL_STATUSES:
                return self._finished(operation_id)
            return False

    # -- phases ---------------------------------------------------------------------------

    def _advance(self, parent: Operation, state: CycleState) -> bool:
        spec = PHASES[state.phase]
        child = self.operations.get(state.child_id() or "")
        self._watched_child[parent.operation_id] = child.operation_id
        if not child.is_terminal:
            self._mirror_child_progress(parent, state, child)
            return False
        if child.status is OperationStatus.CANCELLED:
            self.operations.cancel(parent.operation_id, f"{spec.noun.lower()} cancelled")
            return self._finished(parent.operation_id)
        if child.status is OperationStatus.FAILED:
            return self._child_failed(parent, state, child)
        try:
            completion = spec.on_completed(
                self.services, parent.operation_id, state, child.result_summary or {}
            )
        except KtrdrError as exc:
            return self._conclude(parent, state, f"{spec.noun} failed: {exc.message}")
        return self._follow(parent, completion)

    def _follow(self, parent: Operation, completion: Completion) -> bool:
        for event in completion.events:
            self.events.publish(event)
        if completion.gate_failure is not None:
            return self._conclude(
                parent, completion.state, completion.gate_failure, outcome="gate_failed"
            )
        if completion.next_phase is None:
            return self._conclude(parent, completion.state)
        return self._enter(parent, completion.state, completion.next_phase)

    def _enter(self, parent: Operation, state: CycleState, phase: Phase) -> bool:
        """Start ``phase``'s child and persist the move in one write; a start error fails the
        cycle in the name of the phase that could not start."""
        check_phase_transition(state.phase, phase)
        spec = PHASES[phase]
        try:
            child = spec.start(self.services, parent.operation_id, state)
        except TransientError:
            raise  # not the phase's fault: retried on the next tick
        except KtrdrError as exc:
            return self._conclude(parent, state, f"{spec.noun} failed: {exc.message}")
        entered = state.model_copy(
            update={spec.child_key: child, "phase": phase, "phase_started_at": datetime.now(UTC)}
        )
        self.operations.record_state(
            parent.operation_id,
            entered.to_parameters(),
            percentage=spec.progress_start,
            current_step=phase,
        )
        self._watched_child[parent.operation_id] = child
        self.events.publish(
            PhaseEntered(parent.operation_id, phase, state.phase, state.phase_started_at, child)
        )
        return False

    def _child_failed(self, parent: Operation, state: CycleState, child: Operation) -> bool:
        phase = state.phase
        if child.error_code == FailureCode.ORPHANED and phase not in state.restarted_phases:
            logger.warning(
                "research %s: %s child lost, restarting the phase", parent.operation_id, phase
            )
            restarted = state.model_copy(
                update={"restarted_phases": [*state.restarted_phases, phase]}
            )
            return self._enter(parent, restarted, phase)
        return self._conclude(parent, state, f"{PHASES[phase].noun} failed: {child.error_message}")

    # -- the end ---------------------------------------------------------------------------

    def _conclude(
        self,
        parent: Operation,
        state: CycleState,
        error: str | None = None,
        *,
        outcome: str = "failed",
    ) -> bool:
        """End the cycle: completed without ``error``, else failed (``outcome`` gate_failed or
        failed). Subscribers hear ``CycleConcluded`` before the terminal write, so the experiment
        is recorded before anyone can see the cycle ended."""
        operation_id = parent.operation_id
        status = OperationStatus.FAILED if error else OperationStatus.COMPLETED
        if error:
            state = state.model_copy(update={"outcome": outcome})
        self.operations.record_state(operation_id, state.to_parameters())
        concluding = parent.model_copy(update={"status": status, "error_message": error})
        self.events.publish(CycleConcluded(concluding, state))
        if error:
            ended = self.operations.fail(operation_id, error)
            logger.info("research %s: %s", operation_id, error)
        else:
            ended = self.operations.complete(
                operation_id, state.summary(), current_step=_concluded_step(state)
            )
        self.events.publish(CycleFinished(ended, state))
        return True

    def _finished(self, operation_id: str) -> bool:
        """Publish ``CycleFinished`` for a cycle that ended outside ``_conclude`` (a cancel)."""
        ended = self.operations.get(operation_id)
        self.events.publish(
            CycleFinished(ended, CycleState.from_parameters(ended.metadata.parameters))
        )
        return True

    # -- between transitions ---------------------------------------------------------------

    def _mirror_child_progress(
        self, parent: Operation, state: CycleState, child: Operation
    ) -> None:
        spec = PHASES[state.phase]
        percentage = spec.progress_start + child.progress.percentage / 100.0 * spec.progress_span
        if percentage > parent.progress.percentage + 0.5:
            step = f"{state.phase}: {child.progress.current_step or child.status.value}"
            self.operations.update_progress(
                parent.operation_id, percentage=percentage, current_step=step
            )

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
        child = self._watched_child.get(operation_id)
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


def _concluded_step(state: CycleState) -> str:
    """The last step of a completed cycle, e.g. "concluded: neutral; holdout not looked at"."""
    holdout = (state.holdout or {}).get("verdict")
    looked = f"holdout {holdout}" if holdout else "holdout not looked at"
    return f"concluded {state.strategy_name}: {state.verdict or 'no verdict'}; {looked}"
