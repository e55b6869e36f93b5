"""The worker process: receive a JobSpec, run the job, record its outcome in the store, repeat."""

from __future__ import annotations

import importlib
import logging
import os
import signal
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from multiprocessing.connection import Connection
from typing import Any

from ktrdr.errors import InvalidTransitionError, NotFoundError
from ktrdr.execution.base import JobSpec
from ktrdr.execution.outcome import UNEXPECTED_CANCEL, run_to_outcome
from ktrdr.execution.reporter import worker_operations
from ktrdr.logging_setup import configure_logging
from ktrdr.operations import OperationsService
from ktrdr.operations.retry import retry_transient
from ktrdr.settings import get_settings, reset_settings

logger = logging.getLogger(__name__)

PARENT_CHECK_INTERVAL = 0.5  # seconds between two checks that the server process is alive
ORPHANED_EXIT_CODE = 70  # the worker's exit status when it stops because its server is gone


@dataclass(frozen=True)
class WorkerConfig:
    """What a worker process needs to reach the same store as its executor."""

    database_url: str
    home: str
    preload: tuple[str, ...] = ()


def worker_main(connection: Connection, config: WorkerConfig) -> None:
    """Serve the JobSpecs sent on ``connection`` until it sends None or closes.

    Messages back: ``("ready",)`` once booted, ``("done", operation_id, outcome)`` per job.
    """
    _watch_parent(os.getppid())
    _configure_process(config)
    operations = worker_operations()
    try:
        connection.send(("ready",))
    except OSError:
        return
    logger.info("worker %d ready", os.getpid())
    while True:
        try:
            spec = connection.recv()
        except (EOFError, OSError):
            break
        if spec is None:
            break
        outcome = run_job(spec, operations)
        try:
            connection.send(("done", spec.operation_id, outcome))
        except OSError:
            break
    logger.info("worker %d stopped", os.getpid())


def _watch_parent(parent_pid: int) -> None:
    """Exit this worker within ``PARENT_CHECK_INTERVAL`` once its server process is gone.

    A SIGKILLed server cannot stop its workers; they are re-parented (``getppid()`` changes),
    so each one checks and ends itself rather than training on for an operation that the next
    server fails as lost anyway.
    """

    def watch() -> None:
        while os.getppid() == parent_pid:
            time.sleep(PARENT_CHECK_INTERVAL)
        logger.error("worker %d: server process %d is gone; exiting", os.getpid(), parent_pid)
        os._exit(ORPHANED_EXIT_CODE)

    threading.Thread(target=watch, name="ktrdr-parent-watch", daemon=True).start()


def _configure_process(config: WorkerConfig) -> None:
    os.environ["KTRDR_HOME"] = config.home
    os.environ["KTRDR_DATABASE_URL"] = config.database_url
    reset_settings()
    # Ctrl-C reaches the whole process group; the executor, not the terminal, stops workers.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    settings = get_settings()
    configure_logging(settings.log_level, settings.log_format)
    logging.getLogger("alembic").setLevel(logging.WARNING)  # every worker start migrates
    for module in config.preload:
        try:
            importlib.import_module(module)
        except Exception:
            logger.warning("worker %d could not preload %s", os.getpid(), module, exc_info=True)


def run_job(spec: JobSpec, operations: OperationsService) -> str:
    """Run one job and record its outcome; the outcome: completed, failed, cancelled or skipped."""
    operation_id = spec.operation_id
    try:
        operations.start(operation_id)
    except (InvalidTransitionError, NotFoundError) as exc:
        logger.info("operation %s: not started: %s", operation_id, exc)
        return "skipped"
    started = time.monotonic()
    logger.info("operation %s: job %s started in worker %d", operation_id, spec.job, os.getpid())
    outcome = run_to_outcome(spec, "local", socket.gethostname())
    if outcome.status == "cancelled":
        return _record_cancelled(operations, operation_id)
    if outcome.status == "failed":
        message = outcome.message or "job failed"
        return _record(
            operations, operation_id, "failed", lambda: operations.fail(operation_id, message)
        )
    recorded = _record_result(operations, operation_id, outcome.result or {})
    logger.info("operation %s: job %s in %.2fs", operation_id, recorded, time.monotonic() - started)
    return recorded


def _record_result(operations: OperationsService, operation_id: str, result: dict[str, Any]) -> str:
    try:
        return _record(
            operations, operation_id, "completed", lambda: operations.complete(operation_id, result)
        )
    except Exception as exc:
        logger.exception("operation %s: result could not be stored", operation_id)
        message = f"job result could not be stored: {type(exc).__name__}: {exc}"
        return _record(
            operations, operation_id, "failed", lambda: operations.fail(operation_id, message)
        )


def _record_cancelled(operations: OperationsService, operation_id: str) -> str:
    if operations.is_cancelled(operation_id):
        logger.info("operation %s: job stopped after cancellation", operation_id)
        return "cancelled"
    return _record(
        operations, operation_id, "failed", lambda: operations.fail(operation_id, UNEXPECTED_CANCEL)
    )


def _record(
    operations: OperationsService, operation_id: str, outcome: str, write: Callable[[], Any]
) -> str:
    try:
        retry_transient(write, f"record the {outcome} outcome of operation {operation_id}")
    except InvalidTransitionError as exc:
        # The operation was cancelled (or failed by the executor) while the job finished.
        logger.info("operation %s: %s outcome not recorded: %s", operation_id, outcome, exc)
        return operations.get(operation_id).status.value
    return outcome
