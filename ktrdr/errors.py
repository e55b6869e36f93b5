"""The ktrdr exception hierarchy.

Branches are chosen by what the catcher does with the error::

    KtrdrError                         code            HTTP
    ├── ValidationError                validation_error  422   bad input: fix the request
    │   ├── StrategyValidationError    strategy_invalid  422   carries field-path issues
    │   └── PayloadTooLargeError       payload_too_large 413
    ├── AuthenticationError            unauthorized      401
    ├── NotFoundError                  not_found         404   unknown id / name / file
    ├── ConflictError                  conflict          409   state forbids the request
    │   ├── InvalidTransitionError     invalid_transition 409  illegal status change
    │   ├── ActiveCycleExistsError     active_cycle_exists 409
    │   └── BudgetExhaustedError       budget_exhausted  409
    ├── DataError                      data_error        422   market data missing or corrupt
    ├── JobError                       job_failed        500   a job failed while running
    ├── TransientError                 unavailable       503   retry later (store, provider)
    └── InvariantError                 invariant_violated 500  a bug: should never happen

Every error has a stable machine-readable ``code``; callers branch on it, never on the message.
"""

from __future__ import annotations

from typing import Any, ClassVar


class KtrdrError(Exception):
    """Root of every error ktrdr raises on purpose."""

    code: ClassVar[str] = "ktrdr_error"
    http_status: ClassVar[int] = 500

    def __init__(self, message: str, *, details: dict[str, Any] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.details: dict[str, Any] = details or {}

    def to_dict(self) -> dict[str, Any]:
        """The error as the API envelope's ``error`` object."""
        return {"code": self.code, "message": self.message, "details": self.details}


class ValidationError(KtrdrError):
    """The caller's input is invalid; the message names the offending input."""

    code = "validation_error"
    http_status = 422


class StrategyValidationError(ValidationError):
    """A strategy failed the one validator; ``issues`` lists ``{path, message}`` pairs."""

    code = "strategy_invalid"

    def __init__(self, issues: list[dict[str, str]], *, source: str | None = None) -> None:
        self.issues = issues
        self.source = source
        prefix = f"{source}: " if source else ""
        lines = "; ".join(
            f"{i['path']}: {i['message']}" if i["path"] else i["message"] for i in issues
        )
        super().__init__(f"{prefix}invalid strategy: {lines}", details={"issues": issues})


class PayloadTooLargeError(ValidationError):
    """The request body exceeds the configured maximum size."""

    code = "payload_too_large"
    http_status = 413


class AuthenticationError(KtrdrError):
    """The request lacks a valid bearer token."""

    code = "unauthorized"
    http_status = 401


class NotFoundError(KtrdrError):
    """An id, name or file that does not exist."""

    code = "not_found"
    http_status = 404


class ConflictError(KtrdrError):
    """The current state forbids the request."""

    code = "conflict"
    http_status = 409


class InvalidTransitionError(ConflictError):
    """An operation status change that the state table does not allow."""

    code = "invalid_transition"

    def __init__(self, operation_id: str, current: str, target: str) -> None:
        self.operation_id = operation_id
        super().__init__(
            f"operation {operation_id}: illegal transition {current.upper()} -> {target.upper()}",
            details={"operation_id": operation_id, "from": current, "to": target},
        )


class ActiveCycleExistsError(ConflictError):
    """A research trigger beyond the concurrency limit."""

    code = "active_cycle_exists"


class BudgetExhaustedError(ConflictError):
    """The daily LLM budget cannot pay for another cycle."""

    code = "budget_exhausted"


class DataError(KtrdrError):
    """Market data is missing, too short or corrupt."""

    code = "data_error"
    http_status = 422


class JobError(KtrdrError):
    """A job failed while running."""

    code = "job_failed"


class TransientError(KtrdrError):
    """A dependency is temporarily unavailable; retrying later may succeed."""

    code = "unavailable"
    http_status = 503


class InvariantError(KtrdrError):
    """Something that should never happen did: a bug."""

    code = "invariant_violated"
