"""The job-outcome policy both executors share: run a job, say how it ended, check submits."""

from __future__ import annotations

import importlib
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ktrdr.errors import ConflictError, KtrdrError, ValidationError
from ktrdr.execution.base import JobSpec
from ktrdr.execution.reporter import JobCancelled
from ktrdr.operations import OperationStatus

if TYPE_CHECKING:
    from ktrdr.operations import OperationsService

logger = logging.getLogger(__name__)

Job = Callable[[str, dict[str, Any]], dict[str, Any] | None]

UNEXPECTED_CANCEL = "job raised JobCancelled but its operation was not cancelled"


@dataclass(frozen=True)
class JobOutcome:
    """How a job ended: ``status`` completed (with ``result``), failed (with ``message``) or
    cancelled (the job raised ``JobCancelled``)."""

    status: str
    result: dict[str, Any] | None = None
    message: str | None = None


def run_to_outcome(spec: JobSpec, executor: str, node: str) -> JobOutcome:
    """Run the job ``spec`` names; its outcome, the result stamped with where it ran."""
    try:
        result = call_job(spec)
    except JobCancelled:
        return JobOutcome("cancelled")
    except KtrdrError as exc:
        logger.info("operation %s: job failed: %s", spec.operation_id, exc.message)
        return JobOutcome("failed", message=exc.message)
    except Exception as exc:
        logger.exception("operation %s: job raised %s", spec.operation_id, type(exc).__name__)
        return JobOutcome("failed", message=f"{type(exc).__name__}: {exc}")
    result["execution"] = execution_info(executor, node, result)
    return JobOutcome("completed", result=result)


def check_submittable(
    operations: OperationsService, spec: JobSpec, *, executor: str, closing: bool, known: bool
) -> None:
    """Refuse a submit to a closed executor, a second submit, or an operation not pending."""
    if closing:
        raise ConflictError(f"the {executor} executor is shut down; it accepts no jobs")
    if known:
        raise ConflictError(f"operation {spec.operation_id} was already submitted")
    status = operations.store.status_of(spec.operation_id)
    if status is not OperationStatus.PENDING:
        raise ConflictError(
            f"operation {spec.operation_id} is {status.value}; only pending operations run"
        )


def overdue_cancel(cancel_seen_at: float | None, now: float, grace_seconds: float) -> str | None:
    """Why a cancelled job must be force-stopped now, or None while it still has its grace."""
    if cancel_seen_at is None or now - cancel_seen_at < grace_seconds:
        return None
    return f"still running {grace_seconds:.1f}s after cancellation"


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
