"""The worker process: receive a JobSpec, run the job, record its outcome in the store, repeat."""

from __future__ import annotations

import importlib
import logging
import os
import signal
import socket
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from multiprocessing.connection import Connection
from typing import Any

from ktrdr.errors import InvalidTransitionError, KtrdrError, NotFoundError, ValidationError
from ktrdr.execution.base import JobSpec
from ktrdr.execution.reporter import JobCancelled, worker_operations
from ktrdr.logging_setup import configure_logging
from ktrdr.operations import OperationsService
from ktrdr.operations.retry import retry_transient
from ktrdr.settings import get_settings, reset_settings

logger = logging.getLogger(__name__)

Job = Callable[[str, dict[str, Any]], dict[str, Any] | None]


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


def load_job(path: str) -> Job:
    """The function a ``"package.module:function"`` path names."""
    module_name, _, function_name = path.partition(":")
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        raise ValidationError(f"job {path!r}: cannot import module {module_name!r}: {exc}") from exc
    function = getattr(module, function_name, None)
    if not callable(function):
        raise ValidationError(
            f"job {path!r}: module {module_name!r} has no function {function_name!r}"
        )
    return function  # type: ignore[no-any-return]


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
    try:
        result = call_job(spec)
    except JobCancelled:
        return _record_cancelled(operations, operation_id)
    except KtrdrError as exc:
        message = exc.message
        logger.info("operation %s: job failed: %s", operation_id, message)
    except Exception as exc:
        message = f"{type(exc).__name__}: {exc}"
        logger.exception("operation %s: job raised %s", operation_id, type(exc).__name__)
    else:
        result["execution"] = execution_info("local", socket.gethostname(), result)
        outcome = _record_result(operations, operation_id, result)
        logger.info(
            "operation %s: job %s in %.2fs", operation_id, outcome, time.monotonic() - started
        )
        return outcome
    return _record(
        operations, operation_id, "failed", lambda: operations.fail(operation_id, message)
    )


def execution_info(executor: str, node: str, result: Mapping[str, Any]) -> dict[str, str]:
    """Where a job ran, e.g. ``{"executor": "ray", "node": "<node id>", "device": "cuda:0 (...)"}``.

    The device is the one the job reports (training's ``device``), else "cpu".
    """
    return {"executor": executor, "node": node, "device": str(result.get("device") or "cpu")}


def call_job(spec: JobSpec) -> dict[str, Any]:
    """Run the job a spec names; its result_summary (None becomes {})."""
    result = load_job(spec.job)(spec.operation_id, dict(spec.request))
    if result is None:
        return {}
    if not isinstance(result, dict):
        raise ValidationError(
            f"job {spec.job!r} returned {type(result).__name__}; it must return a dict "
            "(the operation's result_summary) or None"
        )
    return result


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
    message = "job raised JobCancelled but its operation was not cancelled"
    return _record(
        operations, operation_id, "failed", lambda: operations.fail(operation_id, message)
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
