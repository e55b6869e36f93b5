"""LocalExecutor with real spawned workers and a SQLite store: outcomes, cancellation, crashes."""

from __future__ import annotations

import os
import signal
import socket
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from ktrdr.errors import ConflictError
from ktrdr.execution import JobSpec
from ktrdr.operations import FailureCode, OperationStatus

if TYPE_CHECKING:
    from integration.execution.conftest import Jobs

JOBS_MODULE = "integration.execution.sample_jobs"
LOCAL_CPU = {"executor": "local", "node": socket.gethostname(), "device": "cpu"}


def test_job_completes_with_its_result_summary(jobs: Jobs) -> None:
    operation = jobs.finished(jobs.submit("add", a=2, b=3))

    assert operation.status is OperationStatus.COMPLETED
    assert operation.result_summary["sum"] == 5
    assert operation.result_summary["pid"] in jobs.executor.health()["worker_pids"]
    assert operation.started_at is not None
    assert operation.progress.percentage == 100.0


def test_listeners_hear_of_a_job_once_its_outcome_is_stored(jobs: Jobs) -> None:
    heard: list[tuple[str, str]] = []
    jobs.executor.events.subscribe(
        lambda op_id: heard.append((op_id, jobs.operations.get(op_id).status.value))
    )
    operation_id = jobs.submit("add", a=1, b=1)
    jobs.eventually(lambda: (operation_id, "completed") in heard, "the listener heard of it")


def test_progress_is_visible_in_the_store_while_the_job_runs(jobs: Jobs, tmp_path: Path) -> None:
    release = tmp_path / "release"
    operation_id = jobs.submit("hold", release=str(release), stopped=str(tmp_path / "stopped"))
    pid = jobs.worker_pid(operation_id)

    running = jobs.operations.get(operation_id)
    assert running.status is OperationStatus.RUNNING
    assert running.progress.percentage == 50.0
    assert running.progress.current_step == "holding"
    assert (running.progress.items_done, running.progress.items_total) == (1, 2)
    assert jobs.executor.running() == [operation_id]
    assert jobs.executor.is_alive(operation_id)
    assert jobs.executor.health()["busy"] == 1

    release.touch()
    assert jobs.finished(operation_id).result_summary == {"pid": pid, "execution": LOCAL_CPU}
    jobs.eventually(lambda: not jobs.executor.is_alive(operation_id), "the job is no longer alive")


@pytest.mark.parametrize(
    ("function", "message"),
    [
        ("fail_with_data_error", "no bars for EURUSD 1h between 2024-01-01 and 2024-02-01"),
        ("fail_with_value_error", "ValueError: learning rate must be positive"),
        ("no_such_job", "module 'integration.execution.sample_jobs' has no function 'no_such_job'"),
    ],
)
def test_a_failing_job_fails_its_operation_with_the_message(
    jobs: Jobs, function: str, message: str
) -> None:
    operation = jobs.finished(jobs.submit(function))

    assert operation.status is OperationStatus.FAILED
    assert message in operation.error_message


def test_a_cancelled_job_stops_by_itself_and_its_worker_is_reused(
    jobs: Jobs, tmp_path: Path
) -> None:
    stopped = tmp_path / "stopped"
    operation_id = jobs.submit("hold", release=str(tmp_path / "never"), stopped=str(stopped))
    pid = jobs.worker_pid(operation_id)

    jobs.operations.cancel(operation_id)

    # The pool's grace is 30 s: a job gone well before that stopped on its own check.
    jobs.eventually(lambda: jobs.executor.running() == [], "the cancelled job stops")
    assert stopped.read_text() == str(pid)
    assert jobs.operations.get(operation_id).status is OperationStatus.CANCELLED
    assert pid in jobs.executor.health()["worker_pids"]
    assert jobs.finished(jobs.submit("add", a=1, b=1)).status is OperationStatus.COMPLETED


def test_a_job_ignoring_cancellation_is_force_stopped_after_the_grace(
    impatient_jobs: Jobs,
) -> None:
    operation_id = impatient_jobs.submit("spin")
    pid = impatient_jobs.worker_pid(operation_id)

    impatient_jobs.operations.cancel(operation_id)

    impatient_jobs.replaced(pid)
    operation = impatient_jobs.operations.get(operation_id)
    assert operation.status is OperationStatus.CANCELLED
    assert operation.error_message == "cancelled by user"
    after = impatient_jobs.finished(impatient_jobs.submit("add", a=1, b=2))
    assert after.result_summary["pid"] != pid


def test_executor_cancel_stops_the_job_at_once(jobs: Jobs) -> None:
    operation_id = jobs.submit("spin")
    pid = jobs.worker_pid(operation_id)

    jobs.executor.cancel(operation_id)

    assert not jobs.executor.is_alive(operation_id)
    assert jobs.operations.get(operation_id).status is OperationStatus.CANCELLED
    jobs.replaced(pid)
    assert jobs.finished(jobs.submit("add", a=0, b=0)).status is OperationStatus.COMPLETED


def test_a_killed_worker_fails_its_operation_and_the_pool_keeps_serving(
    jobs: Jobs, tmp_path: Path
) -> None:
    operation_id = jobs.submit(
        "hold", release=str(tmp_path / "never"), stopped=str(tmp_path / "stopped")
    )
    pid = jobs.worker_pid(operation_id)

    os.kill(pid, signal.SIGKILL)

    operation = jobs.finished(operation_id)
    assert operation.status is OperationStatus.FAILED
    assert f"worker process {pid} died (killed by signal SIGKILL)" in operation.error_message
    assert "out of memory or killed" in operation.error_message
    assert operation.error_code == FailureCode.WORKER_LOST
    jobs.replaced(pid)
    assert jobs.finished(jobs.submit("add", a=4, b=4)).result_summary["sum"] == 8


def test_a_queue_longer_than_the_pool_runs_every_job(jobs: Jobs) -> None:
    operation_ids = [jobs.submit("add", a=n, b=10) for n in range(6)]

    sums = [jobs.finished(op).result_summary["sum"] for op in operation_ids]

    assert sums == [10, 11, 12, 13, 14, 15]


@pytest.mark.parametrize("how", ["store", "executor"])
def test_a_cancelled_queued_job_never_runs(jobs: Jobs, tmp_path: Path, how: str) -> None:
    release = tmp_path / "release"
    holders = [
        jobs.submit("hold", release=str(release), stopped=str(tmp_path / f"stopped{n}"))
        for n in range(jobs.size)
    ]
    for holder in holders:
        jobs.worker_pid(holder)
    marker = tmp_path / "ran"
    queued = jobs.submit("touch", marker=str(marker))
    assert jobs.executor.health()["queued"] == 1

    if how == "store":
        jobs.operations.cancel(queued)
    else:
        jobs.executor.cancel(queued)
    jobs.eventually(
        lambda: not jobs.executor.is_alive(queued), "the cancelled job leaves the queue"
    )
    release.touch()

    # FIFO: once a later job has run, the cancelled one would have run before it.
    assert jobs.finished(jobs.submit("add", a=1, b=2)).status is OperationStatus.COMPLETED
    assert not marker.exists()
    operation = jobs.operations.get(queued)
    assert operation.status is OperationStatus.CANCELLED
    assert operation.started_at is None
    for holder in holders:
        assert jobs.finished(holder).status is OperationStatus.COMPLETED


def test_submit_refuses_an_operation_twice_or_one_not_pending(jobs: Jobs, tmp_path: Path) -> None:
    release = tmp_path / "release"
    operation_id = jobs.submit("hold", release=str(release), stopped=str(tmp_path / "stopped"))
    spec = JobSpec(operation_id=operation_id, job=f"{JOBS_MODULE}:add")

    with pytest.raises(ConflictError, match="already submitted"):
        jobs.executor.submit(spec)
    release.touch()
    jobs.finished(operation_id)
    with pytest.raises(ConflictError, match="is completed; only pending operations run"):
        jobs.executor.submit(spec)


def test_shutdown_lets_the_running_job_finish_and_refuses_new_jobs(
    new_jobs: Callable[..., Jobs], tmp_path: Path
) -> None:
    jobs = new_jobs()
    release = tmp_path / "release"
    operation_id = jobs.submit("hold", release=str(release), stopped=str(tmp_path / "stopped"))
    pid = jobs.worker_pid(operation_id)
    release.touch()

    jobs.executor.shutdown(wait=True)

    assert jobs.operations.get(operation_id).result_summary == {"pid": pid, "execution": LOCAL_CPU}
    assert jobs.executor.health()["busy"] == 0
    with pytest.raises(ConflictError, match="shut down"):
        jobs.submit("add", a=1, b=1)


def test_workers_that_cannot_start_fail_the_queued_jobs(new_jobs: Callable[..., Jobs]) -> None:
    jobs = new_jobs(database_url="nosuchdb://nowhere")
    jobs.eventually(lambda: jobs.size == 0, "the pool gives up restarting its workers")

    operation = jobs.finished(jobs.submit("add", a=1, b=1))

    assert operation.status is OperationStatus.FAILED
    assert "worker processes cannot start: 3 in a row exited while starting" in (
        operation.error_message
    )
