"""JobReporter: progress writes, cancellation checks and their throttling."""

from __future__ import annotations

import pytest

import ktrdr.execution.reporter as reporter_module
from ktrdr.execution import JobCancelled, JobReporter, worker_operations
from ktrdr.operations import OperationsService


class FakeClock:
    """A monotonic clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = 1000.0

    def monotonic(self) -> float:
        return self.now


@pytest.fixture
def running(operations: OperationsService) -> str:
    """A running training operation."""
    operation_id = operations.create("training").operation_id
    operations.start(operation_id)
    return operation_id


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> FakeClock:
    """Replace the reporter's clock."""
    fake = FakeClock()
    monkeypatch.setattr(reporter_module, "time", fake)
    return fake


def test_progress_is_written_to_the_store(operations, running) -> None:
    reporter = JobReporter(running, operations=operations)

    written = reporter.progress(
        percentage=40,
        current_step="epoch 4/10",
        items_done=4,
        items_total=10,
        context={"loss": 0.7},
    )

    assert written
    progress = operations.get(running).progress
    assert (progress.percentage, progress.current_step) == (40.0, "epoch 4/10")
    assert (progress.items_done, progress.items_total, progress.context) == (4, 10, {"loss": 0.7})


def test_check_cancelled_raises_once_the_operation_is_cancelled(operations, running, clock) -> None:
    reporter = JobReporter(running, operations=operations)
    reporter.check_cancelled()

    operations.cancel(running)
    clock.now += reporter_module.CANCEL_CHECK_INTERVAL

    with pytest.raises(JobCancelled) as raised:
        reporter.check_cancelled()
    assert raised.value.operation_id == running
    assert reporter.cancelled()


def test_status_reads_are_throttled_to_one_per_interval(operations, running, clock) -> None:
    reporter = JobReporter(running, operations=operations)
    assert not reporter.cancelled()
    operations.cancel(running)

    clock.now += reporter_module.CANCEL_CHECK_INTERVAL / 2
    assert not reporter.cancelled()
    clock.now += reporter_module.CANCEL_CHECK_INTERVAL
    assert reporter.cancelled()


def test_progress_after_cancellation_raises_job_cancelled(operations, running) -> None:
    reporter = JobReporter(running, operations=operations)
    operations.cancel(running)

    with pytest.raises(JobCancelled):
        reporter.progress(percentage=90)


def test_job_cancelled_escapes_a_jobs_except_exception() -> None:
    def job_step() -> str:
        try:
            raise JobCancelled("op_training_20260101_000000_00000000")
        except Exception:
            return "swallowed"

    with pytest.raises(JobCancelled):
        job_step()


def test_worker_operations_is_built_once_from_the_settings(ktrdr_home, monkeypatch) -> None:
    monkeypatch.setattr(reporter_module, "_operations", None)

    service = worker_operations()

    assert service is worker_operations()
    assert str(service.store.engine.url) == f"sqlite:///{ktrdr_home / 'ktrdr.db'}"
    service.store.dispose()


def test_the_last_word_gets_past_the_throttle_and_outlives_completion(operations, running) -> None:
    operations.progress_min_interval = 3600.0  # every write after the first is throttled
    reporter = JobReporter(running, operations=operations)
    assert reporter.progress(percentage=1, current_step="loading model")
    assert not reporter.progress(percentage=97, current_step="saving")

    assert reporter.done("backtested 8,123 bars: 41 trades")
    operations.complete(running, {"bars": 8123})

    progress = operations.get(running).progress
    assert (progress.percentage, progress.current_step) == (
        100.0,
        "backtested 8,123 bars: 41 trades",
    )


def test_completion_can_state_the_last_step_itself(operations, running) -> None:
    JobReporter(running, operations=operations).progress(current_step="assessing: poor")
    operations.complete(running, {}, current_step="concluded s: poor; holdout not looked at")
    assert operations.get(running).progress.current_step == (
        "concluded s: poor; holdout not looked at"
    )


def test_completion_without_a_step_keeps_the_last_one(operations, running) -> None:
    JobReporter(running, operations=operations).done("trained 1 model × 3 seeds (5 epochs)")
    operations.complete(running, {})
    assert operations.get(running).progress.current_step == "trained 1 model × 3 seeds (5 epochs)"
