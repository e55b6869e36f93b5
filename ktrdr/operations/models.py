"""The operation record, its statuses and the table of legal transitions (DESIGN §3)."""

from __future__ import annotations

import secrets
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, computed_field


class OperationType(StrEnum):
    """What an operation does."""

    AGENT_RESEARCH = "agent_research"
    AGENT_DESIGN = "agent_design"
    TRAINING = "training"
    BACKTESTING = "backtesting"
    AGENT_ASSESSMENT = "agent_assessment"
    DATA_IMPORT = "data_import"
    DATA_FETCH = "data_fetch"


class OperationStatus(StrEnum):
    """Where an operation is in its life."""

    PENDING = "pending"  # created, not yet picked up by a worker
    RUNNING = "running"  # a worker is on it
    COMPLETED = "completed"  # terminal: finished with a result_summary
    FAILED = "failed"  # terminal: error_message says why
    CANCELLED = "cancelled"  # terminal: stopped on request (or its parent was)


class FailureCode(StrEnum):
    """Why a failed operation failed, when a caller must act on it (``Operation.error_code``)."""

    # Its job was left unfinished by a server that stopped (settled at the next start): the
    # research cycle restarts such a phase once with a new child.
    ORPHANED = "orphaned"
    # Its worker process or Ray node died while running the job (killed, out of memory): the
    # failure stands; the message names the process or node.
    WORKER_LOST = "worker_lost"


class Trigger(StrEnum):
    """What is asked of an operation."""

    START = "start"
    PROGRESS = "progress"
    COMPLETE = "complete"
    FAIL = "fail"
    CANCEL = "cancel"


TERMINAL_STATUSES = frozenset(
    {OperationStatus.COMPLETED, OperationStatus.FAILED, OperationStatus.CANCELLED}
)
ACTIVE_STATUSES = frozenset({OperationStatus.PENDING, OperationStatus.RUNNING})
CANCELABLE_STATUSES = ACTIVE_STATUSES

TRANSITIONS: dict[tuple[OperationStatus, Trigger], OperationStatus] = {
    (OperationStatus.PENDING, Trigger.START): OperationStatus.RUNNING,
    (OperationStatus.PENDING, Trigger.FAIL): OperationStatus.FAILED,
    (OperationStatus.PENDING, Trigger.CANCEL): OperationStatus.CANCELLED,
    (OperationStatus.RUNNING, Trigger.PROGRESS): OperationStatus.RUNNING,
    (OperationStatus.RUNNING, Trigger.COMPLETE): OperationStatus.COMPLETED,
    (OperationStatus.RUNNING, Trigger.FAIL): OperationStatus.FAILED,
    (OperationStatus.RUNNING, Trigger.CANCEL): OperationStatus.CANCELLED,
}


def next_status(current: OperationStatus, trigger: Trigger) -> OperationStatus | None:
    """The status that ``trigger`` leads to from ``current``, or None when it is illegal."""
    return TRANSITIONS.get((current, trigger))


def utc_now() -> datetime:
    """The current time, timezone-aware UTC."""
    return datetime.now(UTC)


def new_operation_id(operation_type: OperationType | str, now: datetime | None = None) -> str:
    """An id like ``op_training_20260101_120000_1a2b3c4d`` (UTC time + 8 random hex digits)."""
    stamp = (now or utc_now()).strftime("%Y%m%d_%H%M%S")
    return f"op_{OperationType(operation_type).value}_{stamp}_{secrets.token_hex(4)}"


class Progress(BaseModel):
    """How far an operation has come."""

    model_config = ConfigDict(extra="forbid")

    percentage: float = Field(default=0.0, ge=0.0, le=100.0)
    current_step: str | None = None
    items_done: int | None = None
    items_total: int | None = None
    context: dict[str, Any] = Field(default_factory=dict)


class OperationMetadata(BaseModel):
    """What an operation works on; ``parameters`` holds free-form persisted state."""

    model_config = ConfigDict(extra="forbid")

    symbol: str | None = None
    timeframe: str | None = None
    start_date: str | None = None
    end_date: str | None = None
    parameters: dict[str, Any] = Field(default_factory=dict)


class Operation(BaseModel):
    """One persisted unit of work; records are immutable, changes return copies."""

    model_config = ConfigDict(frozen=True)

    operation_id: str
    operation_type: OperationType
    status: OperationStatus = OperationStatus.PENDING
    parent_operation_id: str | None = None
    created_at: datetime
    started_at: datetime | None = None
    completed_at: datetime | None = None
    progress: Progress = Field(default_factory=Progress)
    metadata: OperationMetadata = Field(default_factory=OperationMetadata)
    result_summary: dict[str, Any] | None = None
    error_message: str | None = None
    error_code: str | None = None  # a FailureCode value when the failure is one callers act on

    @computed_field  # type: ignore[prop-decorator]
    @property
    def duration_seconds(self) -> float | None:
        """Seconds from start to completion (or to now while running)."""
        if self.started_at is None:
            return None
        end = self.completed_at or utc_now()
        return max(0.0, (end - self.started_at).total_seconds())

    @property
    def is_terminal(self) -> bool:
        """True once completed, failed or cancelled."""
        return self.status in TERMINAL_STATUSES


class OperationPage(BaseModel):
    """One page of a listing plus the count of every match."""

    items: list[Operation]
    total_count: int
