"""fail_orphaned_jobs: settle the jobs a previous server left unfinished."""

from __future__ import annotations

from ktrdr.execution import fail_orphaned_jobs
from ktrdr.operations import FailureCode, OperationsService, OperationStatus


class FakeExecutor:
    """An executor that runs exactly the given operations."""

    def __init__(self, alive: set[str]) -> None:
        self.alive = alive

    def is_alive(self, operation_id: str) -> bool:
        return operation_id in self.alive


def _operation(operations: OperationsService, kind: str, status: str) -> str:
    operation_id = operations.create(kind).operation_id
    if status in ("running", "completed"):
        operations.start(operation_id)
    if status == "completed":
        operations.complete(operation_id, {"accuracy": 0.6})
    return operation_id


def test_unfinished_jobs_of_the_given_types_fail_as_lost(operations) -> None:
    pending = _operation(operations, "training", "pending")
    running = _operation(operations, "backtesting", "running")
    done = _operation(operations, "training", "completed")
    research = _operation(operations, "agent_research", "running")

    failed = fail_orphaned_jobs(operations, ["training", "backtesting"])

    assert sorted(failed) == sorted([pending, running])
    for operation_id in (pending, running):
        operation = operations.get(operation_id)
        assert operation.status is OperationStatus.FAILED
        assert operation.error_code == FailureCode.ORPHANED
        assert operation.error_message == "lost: server restarted"
    assert operations.get(done).status is OperationStatus.COMPLETED
    assert operations.get(research).status is OperationStatus.RUNNING


def test_jobs_a_live_executor_runs_are_kept(operations) -> None:
    kept = _operation(operations, "training", "running")
    lost = _operation(operations, "training", "running")

    failed = fail_orphaned_jobs(
        operations, ["training"], "lost: worker gone", executor=FakeExecutor({kept})
    )

    assert failed == [lost]
    assert operations.get(lost).error_message == "lost: worker gone"
    assert operations.get(lost).error_code == FailureCode.ORPHANED
    assert operations.get(kept).status is OperationStatus.RUNNING


def test_nothing_to_settle_returns_no_ids(operations) -> None:
    assert fail_orphaned_jobs(operations, ["training"]) == []
