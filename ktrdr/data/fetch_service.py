"""``data_fetch`` operations: each fetch runs in a thread of the API process.

A fetch waits on the network, not on the CPU, so it runs as a thread here instead of a job of the
process pool: it needs no worker slot (a slow exchange never holds up training), and it shares the
repository and the operations service of the process. A fetch lost with a stopped server is marked
failed at the next start; its stored pages are kept, and re-running it resumes after them.
"""

from __future__ import annotations

import logging
import threading
from typing import Any

from ktrdr.data.fetch import FetchRequest, PreparedFetch, prepare, run_fetch
from ktrdr.data.repository import DataRepository
from ktrdr.errors import ConflictError, InvalidTransitionError, KtrdrError, NotFoundError
from ktrdr.operations import OperationsService, OperationType

logger = logging.getLogger(__name__)


class DataFetchService:
    """Start, run and track fetches; one at a time per stored data set."""

    def __init__(self, operations: OperationsService, repository: DataRepository) -> None:
        self.operations = operations
        self.repository = repository
        self._lock = threading.Lock()
        self._running: dict[tuple[str, str], str] = {}  # (name, timeframe) -> operation id
        self._threads: dict[str, threading.Thread] = {}

    def start(self, request: FetchRequest) -> str:
        """Check ``request``, create its ``data_fetch`` operation, fetch in a thread; the op id."""
        prepared = prepare(request)
        key = (prepared.name, prepared.timeframe)
        with self._lock:
            if key in self._running:
                raise ConflictError(
                    f"{prepared.name} {prepared.timeframe} is being fetched by "
                    f"{self._running[key]}; wait for it or cancel it",
                    details={"operation_id": self._running[key]},
                )
            operation = self.operations.create(
                OperationType.DATA_FETCH,
                metadata={
                    "symbol": prepared.name,
                    "timeframe": prepared.timeframe,
                    "start_date": request.start,
                    "end_date": request.end,
                    "parameters": request.to_dict(),
                },
            )
            operation_id = operation.operation_id
            self._running[key] = operation_id
            thread = threading.Thread(
                target=self._run, args=(operation_id, prepared), name=operation_id, daemon=True
            )
            self._threads[operation_id] = thread
        thread.start()
        return operation_id

    def update(self, symbol: str | None = None) -> list[str]:
        """Start a fetch up to now of every fetched data set (of ``symbol`` only, if given)."""
        fetched = [
            info
            for info in self.repository.list()
            if info.provenance and (symbol is None or info.symbol == symbol.upper())
        ]
        if not fetched:
            which = f"of {symbol}" if symbol else "at all"
            raise NotFoundError(
                f"no fetched data sets {which}; fetch one first with `ktrdr data fetch`",
                details={"symbol": symbol},
            )
        return [self.start(_continuation(info.symbol, info.provenance)) for info in fetched]

    def join(self, timeout: float | None = None) -> None:
        """Wait for running fetches to end (tests and shutdown)."""
        for thread in list(self._threads.values()):
            thread.join(timeout)

    def _run(self, operation_id: str, prepared: PreparedFetch) -> None:
        operations = self.operations
        try:
            operations.start(operation_id)
            summary = run_fetch(
                self.repository,
                prepared,
                on_progress=lambda done, total, step: self._progress(
                    operation_id, done, total, step
                ),
                is_cancelled=lambda: operations.is_cancelled(operation_id),
            )
            if summary["status"] == "completed":
                operations.complete(operation_id, summary)
        except KtrdrError as exc:
            self._fail(operation_id, exc.message)
        except Exception as exc:
            logger.exception("fetch %s failed", operation_id)
            self._fail(operation_id, f"fetch failed: {type(exc).__name__}: {exc}")
        finally:
            with self._lock:
                self._running.pop((prepared.name, prepared.timeframe), None)
                self._threads.pop(operation_id, None)

    def _progress(self, operation_id: str, done: int, total: int, step: str) -> None:
        percentage = 100.0 * done / total if total else 0.0
        try:
            self.operations.update_progress(
                operation_id,
                percentage=percentage,
                current_step=step,
                items_done=done,
                items_total=total,
            )
        except InvalidTransitionError:
            logger.debug("fetch %s no longer running; the page loop notices", operation_id)

    def _fail(self, operation_id: str, message: str) -> None:
        if self.operations.is_cancelled(operation_id):
            return
        self.operations.fail(operation_id, message)


def _continuation(name: str, provenance: dict[str, Any]) -> FetchRequest:
    """A request bringing a fetched data set up to now, from where it ends."""
    return FetchRequest(
        symbol=provenance["symbol"],
        source=provenance["source"],
        timeframe=provenance["timeframe"],
        name=name,
        base_url=provenance.get("base_url"),
    )
