"""Turn a finished research operation into its experiment-memory record."""

from __future__ import annotations

from typing import Any

from ktrdr.agents.cycle.events import CycleConcluded, CycleEvent, CycleFinished
from ktrdr.agents.cycle.state import CycleState, cycle_outcome
from ktrdr.agents.memory import SINGLE_WINDOW, WALK_FORWARD, ExperimentMemory, ExperimentRecord
from ktrdr.operations import Operation
from ktrdr.strategy import load_strategy, strategy_to_dict
from ktrdr.training.manifest import SINGLE_SPLIT


class ExperimentRecorder:
    """The cycle-event subscriber that keeps the experiment memory.

    It records on ``CycleConcluded`` (before the research turns terminal, so whoever sees the
    outcome also finds the record) and again on ``CycleFinished`` (an upsert: it corrects the
    record when a cancel won the race, and records cycles cancelled from outside).
    """

    def __init__(self, memory: ExperimentMemory) -> None:
        self.memory = memory

    def __call__(self, event: CycleEvent) -> None:
        """Record the experiment of a concluded or finished cycle; ignore other events."""
        if isinstance(event, CycleConcluded | CycleFinished):
            record_experiment(self.memory, event.operation, event.state)


def record_experiment(
    memory: ExperimentMemory, operation: Operation, state: CycleState | None = None
) -> ExperimentRecord:
    """Write (or overwrite) the experiment of a terminal research operation.

    It copies the walk-forward training ``test_metrics`` and backtest ``metrics`` only: a holdout
    result of the cycle stays on the research operation (the user's), never in memory.
    """
    state = state or CycleState.from_parameters(operation.metadata.parameters)
    training = state.training_result or {}
    backtest = state.backtest_result or {}
    gates = {gate: outcome for gate, outcome in state.gate_outcomes().items() if outcome}
    record = ExperimentRecord(
        experiment_id=operation.operation_id,
        created_at=operation.created_at,
        strategy_name=state.strategy_name or "(not designed)",
        designer=state.designer,
        status=cycle_outcome(operation.status, state),
        strategy=_strategy(state.strategy_path),
        design=state.design,
        training_metrics=training.get("test_metrics"),
        backtest_metrics=backtest.get("metrics"),
        gates=gates,
        verdict=state.verdict,
        error=operation.error_message,
        protocol=_protocol(training),
        statistics=state.statistics,
    )
    return memory.record(record)


def _protocol(training: dict[str, Any]) -> str:
    """A model trained on one split (``evaluation.folds: 0``) was judged on one window."""
    scheme = (training.get("walk_forward") or {}).get("scheme")
    return SINGLE_WINDOW if scheme == SINGLE_SPLIT else WALK_FORWARD


def _strategy(path: str | None) -> dict[str, Any]:
    if not path:
        return {}
    try:
        return strategy_to_dict(load_strategy(path))
    except Exception:  # the file may have been removed since; the record keeps the rest
        return {}
