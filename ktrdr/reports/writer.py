"""Writing reports when operations end, off the thread that announced the end."""

from __future__ import annotations

import logging
import threading
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path

from ktrdr.errors import KtrdrError
from ktrdr.reports.build import REPORT_FOLDERS, ReportBuilder

logger = logging.getLogger(__name__)


class ReportWriter:
    """Writes the report of every backtest, training and research cycle that ends.

    ``operation_ended(op_id)`` is a job-ended / cycle-ended listener: it queues the write on one
    background thread and returns at once. A report that cannot be built is logged and skipped;
    the operation and its result are already stored and stay as they are, and
    ``GET /operations/{id}/report`` builds the report again on demand.
    """

    def __init__(self, builder: ReportBuilder) -> None:
        self.builder = builder
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="ktrdr-report")
        self._lock = threading.Lock()
        self._closed = False

    def operation_ended(self, operation_id: str) -> Future[Path | None]:
        """Queue the report of ``operation_id``; the future holds its path (None if none).

        Once closed (the server is stopping) it queues nothing: the report is built on demand.
        """
        with self._lock:
            if not self._closed:
                return self._pool.submit(self.write_quietly, operation_id)
        logger.info(
            "operation %s ended after the report writer closed; no report now", operation_id
        )
        skipped: Future[Path | None] = Future()
        skipped.set_result(None)
        return skipped

    def write_quietly(self, operation_id: str) -> Path | None:
        """Write the report now; None, logged, if the operation has none or building failed."""
        try:
            operation = self.builder.operations.get(operation_id).model_dump(mode="json")
            if operation["operation_type"] not in REPORT_FOLDERS:
                return None
            if (
                operation["operation_type"] != "agent_research"
                and operation["status"] != "completed"
            ):
                return None
            path = self.builder.write(operation)
        except KtrdrError as exc:
            logger.warning("operation %s: report not written: %s", operation_id, exc.message)
            return None
        except Exception:
            logger.exception("operation %s: report not written", operation_id)
            return None
        logger.info("operation %s: report written to %s", operation_id, path)
        return path

    def close(self) -> None:
        """Finish the queued reports, then stop the thread; later ends queue nothing."""
        with self._lock:
            self._closed = True
        self._pool.shutdown(wait=True)
