"""Fixtures for the executor tests: a temp SQLite store and real pools of spawned workers.

How the workers find the test jobs: the tiny job functions live in ``sample_jobs.py`` next to
this file. pytest puts ``tests/`` on ``sys.path`` (``pythonpath`` in pyproject.toml), so the
module is importable as ``integration.execution.sample_jobs``, and a spawned worker starts with
its parent's ``sys.path`` (multiprocessing sends it along), so it imports the jobs by that dotted
path too. No product code exists for the tests.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar

import pytest
from support.eventually import eventually, terminal

from ktrdr.execution import JobSpec, LocalExecutor
from ktrdr.operations import Operation, OperationsService, OperationsStore

JOBS_MODULE = "integration.execution.sample_jobs"
T = TypeVar("T")


class Jobs:
    """Create an operation, submit a test job for it, and wait for outcomes."""

    def __init__(self, operations: OperationsService, executor: LocalExecutor) -> None:
        self.operations = operations
        self.executor = executor

    def submit(self, function: str, **request: Any) -> str:
        """Submit ``sample_jobs.<function>`` for a new training operation; its id."""
        operation_id = self.operations.create("training").operation_id
        spec = JobSpec(operation_id=operation_id, job=f"{JOBS_MODULE}:{function}", request=request)
        self.executor.submit(spec)
        return operation_id

    eventually = staticmethod(eventually)

    def finished(self, operation_id: str) -> Operation:
        """The operation once it is completed, failed or cancelled."""
        return terminal(self.operations, operation_id)

    def worker_pid(self, operation_id: str) -> int:
        """The pid a running test job reported in its progress context."""
        return eventually(
            lambda: self.operations.get(operation_id).progress.context.get("pid"),
            f"operation {operation_id} reports its pid",
        )

    def replaced(self, pid: int) -> None:
        """Wait until worker ``pid`` has left the pool and the pool is full again."""

        def done() -> bool:
            health = self.executor.health()
            return pid not in health["worker_pids"] and len(health["worker_pids"]) == self.size

        eventually(done, f"worker {pid} replaced")

    @property
    def size(self) -> int:
        return self.executor.health()["workers"]


def _pool(operations: OperationsService, home: Path, **options: Any) -> LocalExecutor:
    options = {"database_url": _database_url(home), "home": home, **options}
    return LocalExecutor(operations, **options)


def _database_url(home: Path) -> str:
    return f"sqlite:///{home / 'ktrdr.db'}"


@pytest.fixture(scope="module")
def home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A temp KTRDR_HOME shared by the tests of one module."""
    return tmp_path_factory.mktemp("ktrdr-home")


@pytest.fixture(scope="module")
def store_operations(home: Path) -> Iterator[OperationsService]:
    """The operations service on the temp SQLite store."""
    store = OperationsStore.from_url(_database_url(home))
    yield OperationsService(store)
    store.dispose()


@pytest.fixture(scope="module")
def patient_pool(store_operations: OperationsService, home: Path) -> Iterator[LocalExecutor]:
    """Two workers and a 30 s grace: any job that stops on cancellation stopped by itself."""
    executor = _pool(store_operations, home, workers=2, grace_seconds=30.0)
    yield executor
    executor.shutdown(wait=False)


@pytest.fixture(scope="module")
def impatient_pool(store_operations: OperationsService, home: Path) -> Iterator[LocalExecutor]:
    """One worker and a 0.3 s grace, for jobs that ignore cancellation."""
    executor = _pool(store_operations, home, workers=1, grace_seconds=0.3)
    yield executor
    executor.shutdown(wait=False)


@pytest.fixture
def jobs(store_operations: OperationsService, patient_pool: LocalExecutor) -> Jobs:
    """Submit to and wait on the two-worker pool."""
    return Jobs(store_operations, patient_pool)


@pytest.fixture
def impatient_jobs(store_operations: OperationsService, impatient_pool: LocalExecutor) -> Jobs:
    """Submit to and wait on the one-worker, short-grace pool."""
    return Jobs(store_operations, impatient_pool)


@pytest.fixture
def new_jobs(store_operations: OperationsService, home: Path) -> Iterator[Callable[..., Jobs]]:
    """Jobs on a pool of one's own (one worker unless told; shut down after the test)."""
    made: list[LocalExecutor] = []

    def make(**options: Any) -> Jobs:
        made.append(
            _pool(store_operations, home, **{"workers": 1, "grace_seconds": 1.0, **options})
        )
        return Jobs(store_operations, made[-1])

    yield make
    for executor in made:
        executor.shutdown(wait=False)
