"""Turn a finished research operation into its experiment-memory record."""

from __future__ import annotations

from typing import Any

from ktrdr.agents.memory import ExperimentMemory, ExperimentRecord
from ktrdr.operations import Operation, OperationStatus
from ktrdr.strategy import load_strategy, strategy_to_dict


def experiment_status(operation: Operation) -> str:
    """``completed``, ``gate_failed``, ``failed`` or ``cancelled`` for a terminal research op."""
    if operation.status is OperationStatus.COMPLETED:
        return "completed"
    if operation.status is OperationStatus.CANCELLED:
        return "cancelled"
    return (
        "gate_failed" if operation.metadata.parameters.get("outcome") == "gate_failed" else "failed"
    )


def record_experiment(memory: ExperimentMemory, operation: Operation) -> ExperimentRecord:
    """Write (or overwrite) the experiment of a terminal research operation."""
    params = operation.metadata.parameters
    training = params.get("training_result") or {}
    backtest = params.get("backtest_result") or {}
    record = ExperimentRecord(
        experiment_id=operation.operation_id,
        created_at=operation.created_at,
        strategy_name=params.get("strategy_name") or "(not designed)",
        designer=params.get("designer", "offline"),
        status=experiment_status(operation),
        strategy=_strategy(params.get("strategy_path")),
        design=params.get("design") or {},
        training_metrics=training.get("test_metrics"),
        backtest_metrics=backtest.get("metrics"),
        gates={
            gate: params[key]
            for gate, key in (("training", "training_gate"), ("backtest", "backtest_gate"))
            if params.get(key)
        },
        verdict=params.get("verdict"),
        error=operation.error_message,
    )
    return memory.record(record)


def _strategy(path: str | None) -> dict[str, Any]:
    if not path:
        return {}
    try:
        return strategy_to_dict(load_strategy(path))
    except Exception:  # the file may have been removed since; the record keeps the rest
        return {}
