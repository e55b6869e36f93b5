"""OperationsService: the one way code creates, advances, lists and cancels operations."""

from __future__ import annotations

import logging
import threading
import time
from typing import Any

from ktrdr.errors import ValidationError
from ktrdr.operations.models import (
    ACTIVE_STATUSES,
    Operation,
    OperationMetadata,
    OperationPage,
    OperationStatus,
    OperationType,
    Trigger,
    new_operation_id,
    utc_now,
)
from ktrdr.operations.store import OperationsStore

logger = logging.getLogger(__name__)

DEFAULT_PROGRESS_INTERVAL = 0.25


class OperationsService:
    """Guarded life-cycle of operations on top of an ``OperationsStore``."""

    def __init__(
        self, store: OperationsStore, *, progress_min_interval: float = DEFAULT_PROGRESS_INTERVAL
    ) -> None:
        self.store = store
        self.progress_min_interval = progress_min_interval
        self._last_progress: dict[str, float] = {}
        self._lock = threading.Lock()

    def create(
        self,
        operation_type: OperationType | str,
        *,
        metadata: OperationMetadata | dict[str, Any] | None = None,
        parent_operation_id: str | None = None,
    ) -> Operation:
        """Create a pending operation (optionally the child of ``parent_operation_id``)."""
        kind = _operation_type(operation_type)
        now = utc_now()
        operation = Operation(
            operation_id=new_operation_id(kind, now),
            operation_type=kind,
            parent_operation_id=parent_operation_id,
            created_at=now,
            metadata=OperationMetadata.model_validate(metadata or {}),
        )
        self.store.insert(operation)
        logger.info("operation %s created (parent %s)", operation.operation_id, parent_operation_id)
        return operation

    def start(self, operation_id: str) -> Operation:
        """Mark a pending operation running."""
        operation = self.store.transition(operation_id, Trigger.START)
        logger.info("operation %s started", operation_id)
        return operation

    def update_progress(
        self,
        operation_id: str,
        *,
        percentage: float | None = None,
        current_step: str | None = None,
        items_done: int | None = None,
        items_total: int | None = None,
        context: dict[str, Any] | None = None,
        force: bool = False,
    ) -> bool:
        """Record progress of a running operation; throttled unless ``force``. True if written."""
        if not force and not self._due(operation_id):
            return False

        def apply(current: Operation) -> dict[str, Any]:
            progress = current.progress.model_copy(deep=True)
            if percentage is not None:
                progress.percentage = max(0.0, min(100.0, float(percentage)))
            if current_step is not None:
                progress.current_step = current_step
            if items_done is not None:
                progress.items_done = items_done
            if items_total is not None:
                progress.items_total = items_total
            if context:
                progress.context = {**progress.context, **context}
            return {"progress": progress}

        self.store.transition(operation_id, Trigger.PROGRESS, apply)
        return True

    def update_parameters(self, operation_id: str, updates: dict[str, Any]) -> Operation:
        """Merge ``updates`` into ``metadata.parameters`` of an active operation, atomically."""

        def apply(current: Operation) -> dict[str, Any]:
            merged = {**current.metadata.parameters, **updates}
            return {"metadata": current.metadata.model_copy(update={"parameters": merged})}

        return self.store.mutate(operation_id, apply)

    def record_state(
        self,
        operation_id: str,
        parameters: dict[str, Any],
        *,
        percentage: float | None = None,
        current_step: str | None = None,
    ) -> Operation:
        """Replace an active operation's ``metadata.parameters`` (and progress) in one write."""

        def apply(current: Operation) -> dict[str, Any]:
            changes: dict[str, Any] = {
                "metadata": current.metadata.model_copy(update={"parameters": parameters})
            }
            if percentage is not None or current_step is not None:
                progress = current.progress.model_copy(deep=True)
                if percentage is not None:
                    progress.percentage = max(0.0, min(100.0, float(percentage)))
                if current_step is not None:
                    progress.current_step = current_step
                changes["progress"] = progress
            return changes

        return self.store.mutate(operation_id, apply)

    def complete(
        self,
        operation_id: str,
        result_summary: dict[str, Any] | None = None,
        *,
        current_step: str | None = None,
    ) -> Operation:
        """Mark a running operation completed with its result (and its last step, if given)."""

        def apply(current: Operation) -> dict[str, Any]:
            update: dict[str, Any] = {"percentage": 100.0}
            if current_step is not None:
                update["current_step"] = current_step
            progress = current.progress.model_copy(update=update)
            return {"result_summary": result_summary or {}, "progress": progress}

        operation = self.store.transition(operation_id, Trigger.COMPLETE, apply)
        self._forget(operation_id)
        logger.info(
            "operation %s completed in %.2fs", operation_id, operation.duration_seconds or 0.0
        )
        return operation

    def fail(self, operation_id: str, error_message: str, *, code: str | None = None) -> Operation:
        """Mark an active operation failed with a message that says why (and a ``FailureCode``)."""
        operation = self.store.transition(
            operation_id,
            Trigger.FAIL,
            lambda _op: {
                "error_message": error_message,
                "error_code": None if code is None else str(code),
            },
        )
        self._forget(operation_id)
        logger.info("operation %s failed: %s", operation_id, error_message)
        return operation

    def cancel(self, operation_id: str, reason: str = "cancelled by user") -> list[str]:
        """Cancel an operation and all its active descendants at once; the ids cancelled."""
        cancelled = self.store.cancel_tree(operation_id, reason)
        for op_id in cancelled:
            self._forget(op_id)
        logger.info("operation %s cancelled (%d in all): %s", operation_id, len(cancelled), reason)
        return cancelled

    def get(self, operation_id: str) -> Operation:
        """The operation with this id (``NotFoundError`` otherwise)."""
        return self.store.get(operation_id)

    def list(
        self,
        *,
        operation_type: OperationType | str | None = None,
        status: OperationStatus | str | None = None,
        parent: str | None = None,
        active_only: bool = False,
        limit: int = 100,
        offset: int = 0,
    ) -> OperationPage:
        """Operations newest first, filtered; ``total_count`` counts every match."""
        kind = _operation_type(operation_type) if operation_type is not None else None
        statuses: list[OperationStatus] | None = None
        if status is not None:
            statuses = [_status(status)]
        if active_only:
            active = sorted(ACTIVE_STATUSES)
            statuses = [s for s in statuses if s in ACTIVE_STATUSES] if statuses else active
        return self.store.list(
            operation_type=kind, status=statuses, parent=parent, limit=limit, offset=offset
        )

    def children(self, operation_id: str) -> list[Operation]:
        """The direct children of an operation, newest first."""
        self.store.get(operation_id)
        return self.list(parent=operation_id, limit=1000).items

    def is_cancelled(self, operation_id: str) -> bool:
        """True when the operation was cancelled: the cheap check jobs make between batches."""
        return self.store.status_of(operation_id) is OperationStatus.CANCELLED

    def _due(self, operation_id: str) -> bool:
        now = time.monotonic()
        with self._lock:
            last = self._last_progress.get(operation_id)
            if last is not None and now - last < self.progress_min_interval:
                return False
            self._last_progress[operation_id] = now
            return True

    def _forget(self, operation_id: str) -> None:
        with self._lock:
            self._last_progress.pop(operation_id, None)


def _operation_type(value: OperationType | str) -> OperationType:
    try:
        return OperationType(value)
    except ValueError:
        allowed = ", ".join(t.value for t in OperationType)
        raise ValidationError(f"unknown operation type {value!r}; allowed: {allowed}") from None


def _status(value: OperationStatus | str) -> OperationStatus:
    try:
        return OperationStatus(value)
    except ValueError:
        allowed = ", ".join(s.value for s in OperationStatus)
        raise ValidationError(f"unknown status {value!r}; allowed: {allowed}") from None
