"""What a running job uses to talk to the store: progress writes and cancellation checks."""

from __future__ import annotations

import logging
import threading
import time
from typing import Any

from ktrdr.errors import InvalidTransitionError, TransientError
from ktrdr.operations import OperationsService, OperationsStore
from ktrdr.settings import get_settings

logger = logging.getLogger(__name__)

CANCEL_CHECK_INTERVAL = 0.2  # seconds between two store reads of one job's status

_operations: OperationsService | None = None
_operations_lock = threading.Lock()


class JobCancelled(BaseException):
    """The job's operation was cancelled: unwind and stop.

    A ``BaseException`` (like ``asyncio.CancelledError``) so that a job's own
    ``except Exception`` cleanup cannot swallow it.
    """

    def __init__(self, operation_id: str) -> None:
        super().__init__(f"operation {operation_id} was cancelled")
        self.operation_id = operation_id


def worker_operations() -> OperationsService:
    """The process-wide OperationsService of this worker, built once from the settings."""
    global _operations
    with _operations_lock:
        if _operations is None:
            settings = get_settings()
            store = OperationsStore.from_url(settings.resolved_database_url)
            _operations = OperationsService(
                store, progress_min_interval=settings.progress_min_interval
            )
        return _operations


class JobReporter:
    """Progress and cancellation of one job, e.g. call ``check_cancelled()`` every batch.

    Progress writes are throttled by ``settings.progress_min_interval`` (0.25 s = at most four
    writes a second); status reads by ``CANCEL_CHECK_INTERVAL``, so both are cheap per batch.
    """

    def __init__(self, operation_id: str, *, operations: OperationsService | None = None) -> None:
        self.operation_id = operation_id
        self._operations = operations
        self._last_check = -float("inf")
        self._cancelled = False

    @property
    def operations(self) -> OperationsService:
        """The service this reporter writes through."""
        if self._operations is None:
            self._operations = worker_operations()
        return self._operations

    def progress(
        self,
        percentage: float | None = None,
        current_step: str | None = None,
        items_done: int | None = None,
        items_total: int | None = None,
        context: dict[str, Any] | None = None,
        *,
        force: bool = False,
    ) -> bool:
        """Record progress (throttled unless ``force``); True if written.

        Raises JobCancelled once cancelled. Use ``force`` for a step's last word (the final
        epoch), which throttling must not drop.
        """
        try:
            return self.operations.update_progress(
                self.operation_id,
                percentage=percentage,
                current_step=current_step,
                items_done=items_done,
                items_total=items_total,
                context=context,
                force=force,
            )
        except InvalidTransitionError:
            self._last_check = -float("inf")
            self.check_cancelled()
            raise
        except TransientError as exc:
            logger.warning("operation %s: progress not recorded: %s", self.operation_id, exc)
            return False

    def done(self, step: str) -> bool:
        """Record the job's last word at 100%, e.g. "backtested 8,123 bars: 41 trades".

        Never throttled: the step a finished operation shows is what it did, not whichever
        mid-run step last got past the throttle.
        """
        return self.progress(percentage=100, current_step=step, force=True)

    def cancelled(self) -> bool:
        """True once the operation was cancelled; reads the store at most every 0.2 s."""
        if self._cancelled:
            return True
        now = time.monotonic()
        if now - self._last_check < CANCEL_CHECK_INTERVAL:
            return False
        self._last_check = now
        try:
            self._cancelled = self.operations.is_cancelled(self.operation_id)
        except TransientError as exc:
            logger.warning("operation %s: cancellation not checked: %s", self.operation_id, exc)
        return self._cancelled

    def check_cancelled(self) -> None:
        """Raise JobCancelled when the operation was cancelled; call it between batches."""
        if self.cancelled():
            raise JobCancelled(self.operation_id)
