"""AgentService: trigger, watch, cancel and resume research cycles; the API's one entry point."""

from __future__ import annotations

import dataclasses
import logging
import threading
from datetime import UTC, datetime
from typing import Any

from ktrdr.agents.cycle.events import CycleConcluded, CycleEvent, CycleFinished
from ktrdr.agents.cycle.phases import Phase
from ktrdr.agents.cycle.state import CycleState, Tokens
from ktrdr.agents.gates import GateThresholds, gate_thresholds_dict
from ktrdr.agents.llm import PROVIDERS, BudgetLedger, cycle_models, require_api_key
from ktrdr.agents.memory import ExperimentMemory, summarize_experiments
from ktrdr.agents.research_worker import AgentResearchWorker
from ktrdr.agents.roles import ASSESSORS, DESIGNERS
from ktrdr.data import DataRepository, canonical_symbol, canonical_timeframe
from ktrdr.errors import ActiveCycleExistsError, NotFoundError, ValidationError
from ktrdr.operations import Operation, OperationsService, OperationType
from ktrdr.settings import Settings
from ktrdr.strategy import StrategyCatalog

logger = logging.getLogger(__name__)

STATUS_KEYS = (
    "training_op_id",
    "backtest_op_id",
    "design_op_id",
    "assessment_op_id",
    "statistics",
    "deterministic_verdict",
    "verdict_reason",
)
# The research-window statistics each history row shows (DESIGN §11).
HISTORY_STATISTICS = ("n_trials", "psr", "dsr", "pbo")


class AgentService:
    """Research cycles: each runs its orchestrator loop in a thread of this process."""

    def __init__(
        self,
        operations: OperationsService,
        worker: AgentResearchWorker,
        *,
        settings: Settings,
        strategies: StrategyCatalog,
    ) -> None:
        self.operations = operations
        self.worker = worker
        self.settings = settings
        self.strategies = strategies
        self.memory: ExperimentMemory = worker.memory
        self.ledger = BudgetLedger(operations.store.engine, settings)
        self._threads: dict[str, threading.Thread] = {}
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._last_events: dict[str, dict[str, Any]] = {}
        worker.events.subscribe(self._on_cycle_event)

    def trigger(
        self,
        *,
        designer: str | None = None,
        assessor: str | None = None,
        model: str | None = None,
        brief: str | None = None,
        strategy: str | None = None,
        gates: dict[str, Any] | None = None,
        seed: int | None = None,
        symbol: str | None = None,
        timeframe: str | None = None,
    ) -> dict[str, Any]:
        """Start a research cycle; ``{"triggered": True, "operation_id": ...}``.

        Refused with ``ActiveCycleExistsError`` beyond ``KTRDR_AGENT_MAX_CONCURRENT_RESEARCHES``
        and with ``BudgetExhaustedError`` when today's LLM budget is below one cycle's estimate;
        a bad designer, assessor, model, missing API key, gate override, unknown strategy or a
        ``symbol``/``timeframe`` without stored bars is a ``ValidationError`` / ``NotFoundError``
        / ``DataError`` and starts nothing.
        """
        market = self._market(symbol, timeframe, strategy)
        designer = _choose("designer", designer or self.settings.agent_designer, DESIGNERS)
        assessor = _choose("assessor", assessor or self.settings.agent_assessor, ASSESSORS)
        design_by = None if strategy else designer
        for provider in dict.fromkeys((design_by, assessor)):
            if provider in PROVIDERS:
                require_api_key(self.settings, provider)
        models = cycle_models(self.settings, designer=design_by, assessor=assessor, model=model)
        thresholds = GateThresholds.from_settings(self.settings, gates)
        state = CycleState(
            phase=Phase.IDLE,
            designer="user" if strategy else designer,
            assessor=assessor,
            llm_model=models.get("design"),
            assessor_model=models.get("assessment"),
            brief=brief,
            gates=gate_thresholds_dict(thresholds),
            seed=self.settings.agent_seed if seed is None else seed,
            tokens=Tokens(),
            cost_usd=0.0,
            **market,
        )
        if strategy:
            config, path = self.strategies.resolve(strategy)
            state = state.model_copy(
                update={"strategy_name": config.name, "strategy_path": str(path)}
            )
        with self._lock:
            active = self.active()
            if len(active) >= self.settings.agent_max_concurrent_researches:
                raise ActiveCycleExistsError(
                    f"a research cycle is already running ({active[0].operation_id}); "
                    f"at most {self.settings.agent_max_concurrent_researches} at once",
                    details={
                        "reason": "active_cycle_exists",
                        "operation_id": active[0].operation_id,
                    },
                )
            self.ledger.check_affordable(models)
            operation = self.operations.create(
                OperationType.AGENT_RESEARCH,
                metadata={**market, "parameters": state.to_parameters()},
            )
            self._launch(operation.operation_id)
        return {"triggered": True, "operation_id": operation.operation_id}

    def _market(
        self, symbol: str | None, timeframe: str | None, strategy: str | None
    ) -> dict[str, str]:
        """The data set a designed strategy must use; it must hold bars before anything starts."""
        if symbol is None and timeframe is None:
            return {}
        if strategy:
            raise ValidationError(
                "symbol and timeframe choose the market of a designed strategy; "
                f"strategy {strategy!r} brings its own",
                details={"field": "symbol"},
            )
        if symbol is None or timeframe is None:
            missing = "symbol" if symbol is None else "timeframe"
            raise ValidationError(
                f"{missing} is needed with {'timeframe' if symbol is None else 'symbol'}",
                details={"field": missing},
            )
        symbol, timeframe = canonical_symbol(symbol), canonical_timeframe(timeframe)
        DataRepository(self.settings.path("data")).available_range(symbol, timeframe)
        return {"symbol": symbol, "timeframe": timeframe}

    def active(self) -> list[Operation]:
        """Active research operations, newest first."""
        return self.operations.list(
            operation_type=OperationType.AGENT_RESEARCH, active_only=True, limit=1000
        ).items

    def status(self) -> dict[str, Any]:
        """DESIGN §5 status: the newest active cycle's fields, every active cycle, the last one."""
        active = [self._describe(op) for op in self.active()]
        newest = active[0] if active else {}
        return {
            "status": "active" if active else "idle",
            "operation_id": newest.get("operation_id"),
            "phase": newest.get("phase"),
            "progress": newest.get("progress"),
            "strategy_name": newest.get("strategy_name"),
            "child_operation_id": newest.get("child_operation_id"),
            "training_op_id": newest.get("training_op_id"),
            "backtest_op_id": newest.get("backtest_op_id"),
            "started_at": newest.get("started_at"),
            "active_researches": active,
            "last_cycle": self._last_cycle(),
        }

    def cancel(self, operation_id: str | None = None) -> dict[str, Any]:
        """Cancel the given (or the newest active) research and its current child."""
        if operation_id is None:
            active = self.active()
            if not active:
                raise NotFoundError("no active research cycle to cancel")
            operation_id = active[0].operation_id
        operation = self.operations.get(operation_id)
        if operation.operation_type is not OperationType.AGENT_RESEARCH:
            raise ValidationError(f"operation {operation_id} is not a research cycle")
        cancelled = self.operations.cancel(operation_id, "research cancelled by user")
        return {"operation_id": operation_id, "cancelled": cancelled}

    def history(self, limit: int = 20) -> list[dict[str, Any]]:
        """The most recent experiments, newest first, as compact rows."""
        records = self.memory.list(limit=limit)
        statistics = {record.experiment_id: record.statistics or {} for record in records}
        return [
            {
                **row,
                **{key: statistics[row["experiment_id"]].get(key) for key in HISTORY_STATISTICS},
            }
            for row in summarize_experiments(records, limit=limit)
        ]

    def budget(self) -> dict[str, Any]:
        """The daily LLM budget: limit, spent today, remaining, cycles of the default setup left."""
        models = cycle_models(
            self.settings,
            designer=self.settings.agent_designer,
            assessor=self.settings.agent_assessor,
            model=None,
        )
        return self.ledger.summary(models)

    def resume_active(self) -> list[str]:
        """Start the loop of every active research (after a server restart); their ids."""
        resumed = []
        with self._lock:
            for operation in self.active():
                if operation.operation_id not in self._threads:
                    self._launch(operation.operation_id)
                    resumed.append(operation.operation_id)
        if resumed:
            logger.info("resumed %d research cycles: %s", len(resumed), ", ".join(resumed))
        return resumed

    def close(self) -> None:
        """Stop the loops (the cycles stay active in the store and resume on the next start)."""
        self._stop.set()
        for thread in list(self._threads.values()):
            thread.join(timeout=5)

    def _launch(self, operation_id: str) -> None:
        thread = threading.Thread(
            target=self._run, args=(operation_id,), name=f"research-{operation_id}", daemon=True
        )
        self._threads[operation_id] = thread
        thread.start()

    def _run(self, operation_id: str) -> None:
        try:
            self.worker.run(operation_id, self._stop)
        except Exception:
            logger.exception("research %s: loop crashed", operation_id)
            if not self._stop.is_set():
                self.operations.fail(operation_id, "Research failed: orchestrator error (see logs)")
        finally:
            self._threads.pop(operation_id, None)

    def _describe(self, operation: Operation) -> dict[str, Any]:
        state = CycleState.from_parameters(operation.metadata.parameters)
        return {
            "operation_id": operation.operation_id,
            "phase": state.phase.value,
            "progress": operation.progress.model_dump(mode="json"),
            "strategy_name": state.strategy_name,
            "child_operation_id": state.child_id(),
            **{key: getattr(state, key) for key in STATUS_KEYS},
            "started_at": operation.started_at.isoformat() if operation.started_at else None,
            "last_event": self._last_events.get(operation.operation_id),
        }

    def _on_cycle_event(self, event: CycleEvent) -> None:
        """Keep each active cycle's latest event for ``status`` (what just happened)."""
        if isinstance(event, CycleConcluded | CycleFinished):
            self._last_events.pop(event.operation_id, None)
            return
        facts = {
            field.name: getattr(event, field.name)
            for field in dataclasses.fields(event)
            if isinstance(getattr(event, field.name), str | int | float | bool | None)
        }
        self._last_events[event.operation_id] = {
            "event": type(event).__name__,
            "at": datetime.now(UTC).isoformat(),
            **facts,
        }

    def _last_cycle(self) -> dict[str, Any] | None:
        for operation in self.operations.list(
            operation_type=OperationType.AGENT_RESEARCH, limit=20
        ).items:
            if operation.is_terminal:
                state = CycleState.from_parameters(operation.metadata.parameters)
                return {
                    "operation_id": operation.operation_id,
                    "status": operation.status.value,
                    "phase": state.phase.value,
                    "strategy_name": state.strategy_name,
                    "verdict": state.verdict,
                    "verdict_reason": state.verdict_reason,
                    "statistics": state.statistics,
                    "holdout": state.holdout,
                    "error_message": operation.error_message,
                    "completed_at": operation.completed_at.isoformat()
                    if operation.completed_at
                    else None,
                    "result_summary": operation.result_summary,
                }
        return None


def _choose(kind: str, value: str, allowed: tuple[str, ...]) -> str:
    if value not in allowed:
        raise ValidationError(
            f"{kind} {value!r} is not available; choose one of: {', '.join(allowed)}",
            details={"field": kind},
        )
    return value
