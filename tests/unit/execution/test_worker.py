"""run_job in this process: how each way a job can end is recorded in the store."""

from __future__ import annotations

import socket

import pytest

from ktrdr.execution import JobSpec
from ktrdr.execution.worker import run_job
from ktrdr.operations import OperationsService, OperationStatus


def _run(operations: OperationsService, job: str, **request: object) -> tuple[str, object]:
    operation_id = operations.create("training").operation_id
    outcome = run_job(JobSpec(operation_id=operation_id, job=job, request=request), operations)
    return outcome, operations.get(operation_id)


def test_a_job_result_becomes_the_result_summary(operations, jobs_module) -> None:
    outcome, operation = _run(operations, f"{jobs_module}:echo", symbol="EURUSD")

    assert outcome == "completed"
    assert operation.status is OperationStatus.COMPLETED
    assert operation.result_summary == {
        "operation_id": operation.operation_id,
        "symbol": "EURUSD",
        "execution": {"executor": "local", "node": socket.gethostname(), "device": "cpu"},
    }


def test_a_job_returning_none_completes_with_only_where_it_ran(operations, jobs_module) -> None:
    outcome, operation = _run(operations, f"{jobs_module}:nothing")

    assert outcome == "completed"
    assert operation.result_summary == {
        "execution": {"executor": "local", "node": socket.gethostname(), "device": "cpu"}
    }


@pytest.mark.parametrize(
    ("function", "message"),
    [
        (
            "invalid_strategy",
            "invalid strategy: indicators.rsi: unknown type 'rsii'",
        ),
        ("broken", "KeyError: 'close'"),
        ("number", "returned int; it must return a dict (the operation's result_summary) or None"),
        ("unstorable", "job result could not be stored: "),
        ("missing", "has no function 'missing'"),
        ("quit_as_cancelled", "job raised JobCancelled but its operation was not cancelled"),
    ],
)
def test_a_failing_job_fails_its_operation_with_a_message(
    operations, jobs_module, function: str, message: str
) -> None:
    outcome, operation = _run(operations, f"{jobs_module}:{function}")

    assert outcome == "failed"
    assert operation.status is OperationStatus.FAILED
    assert message in operation.error_message


def test_a_job_from_a_module_that_does_not_import_fails(operations) -> None:
    outcome, operation = _run(operations, "no_such_package.jobs:train")

    assert outcome == "failed"
    assert "cannot import module 'no_such_package.jobs'" in operation.error_message


def test_a_result_after_cancellation_is_refused_without_crashing(
    operations, jobs_module, database_url
) -> None:
    outcome, operation = _run(operations, f"{jobs_module}:cancel_then_return", url=database_url)

    assert outcome == "cancelled"
    assert operation.status is OperationStatus.CANCELLED
    assert operation.result_summary is None


def test_a_job_cancelled_before_it_starts_is_skipped(operations, jobs_module) -> None:
    operation_id = operations.create("backtesting").operation_id
    operations.cancel(operation_id)

    outcome = run_job(JobSpec(operation_id=operation_id, job=f"{jobs_module}:echo"), operations)

    assert outcome == "skipped"
    operation = operations.get(operation_id)
    assert operation.status is OperationStatus.CANCELLED
    assert operation.started_at is None
