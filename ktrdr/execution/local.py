"""LocalExecutor: spawned worker processes fed from a FIFO queue by one dispatcher thread."""

from __future__ import annotations

import atexit
import contextlib
import logging
import multiprocessing
import signal
import threading
import time
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass
from multiprocessing.connection import Connection, wait
from multiprocessing.process import BaseProcess
from pathlib import Path
from typing import Any

from ktrdr.errors import InvalidTransitionError, KtrdrError, ValidationError
from ktrdr.execution.base import JobSpec
from ktrdr.execution.events import JobEvents
from ktrdr.execution.outcome import check_submittable, overdue_cancel
from ktrdr.execution.worker import WorkerConfig, worker_main
from ktrdr.operations import FailureCode, OperationsService, OperationStatus

logger = logging.getLogger(__name__)

STORE_POLL_INTERVAL = 0.25  # seconds between two checks of the store for cancelled operations
KILL_AFTER_SECONDS = 1.0  # a worker still alive this long after SIGTERM gets SIGKILL
MAX_BOOT_FAILURES = 3  # workers in a row that die before booting: stop replacing them
FORCE_STOP_REASON = "cancelled: job force-stopped"


@dataclass(eq=False)
class _Slot:
    """One worker process and the job it runs (``operation_id`` None when idle)."""

    process: BaseProcess
    connection: Connection
    operation_id: str | None = None
    cancel_seen_at: float | None = None  # when the dispatcher saw the operation cancelled
    stop_sent_at: float | None = None  # when the worker was sent SIGTERM
    connection_closed: bool = False
    booted: bool = False

    @property
    def idle(self) -> bool:
        return (
            self.operation_id is None and self.stop_sent_at is None and not self.connection_closed
        )


def describe_exit(pid: int | None, exitcode: int | None) -> str:
    """Why a worker died, e.g. "worker process 12345 died (killed by signal SIGKILL) while ..."."""
    if exitcode is not None and exitcode < 0:
        try:
            name = signal.Signals(-exitcode).name
        except ValueError:
            name = str(-exitcode)
        return (
            f"worker process {pid} died (killed by signal {name}) while running the job"
            " — out of memory or killed"
        )
    return (
        f"worker process {pid} died (exit code {exitcode}) while running the job"
        " — it exited without reporting an outcome"
    )


class LocalExecutor:
    """Runs jobs in ``workers`` spawned processes on this machine, one job per process at a time.

    Jobs poll their own cancellation; one still running ``grace_seconds`` after its operation was
    cancelled is force-stopped (SIGTERM, then SIGKILL) and its worker replaced. A worker that dies
    mid-job fails its operation with the cause and is replaced. On shutdown, jobs not finished stay
    active in the store; ``fail_orphaned_jobs`` settles them at the next start.
    """

    def __init__(
        self,
        operations: OperationsService,
        *,
        workers: int,
        database_url: str,
        home: Path,
        grace_seconds: float,
        preload: Sequence[str] = (),
        events: JobEvents | None = None,
    ) -> None:
        if workers < 1:
            raise ValidationError(f"workers must be >= 1, got {workers}")
        if grace_seconds < 0:
            raise ValidationError(f"grace_seconds must be >= 0, got {grace_seconds}")
        self._operations = operations
        self.events = events or JobEvents()
        self._grace_seconds = grace_seconds
        self._size = workers
        self._config = WorkerConfig(database_url, str(home), tuple(preload))
        self._context = multiprocessing.get_context("spawn")
        self._lock = threading.Condition()
        self._queue: deque[JobSpec] = deque()
        self._closing = False
        self._stopped = False
        self._boot_failures = 0
        self._boot_error: str | None = None
        self._wake_reader, self._wake_writer = self._context.Pipe(duplex=False)
        self._slots = [self._start_worker() for _ in range(workers)]
        self._thread = threading.Thread(target=self._dispatch, name="ktrdr-executor", daemon=True)
        self._thread.start()
        atexit.register(self._shutdown_at_exit)
        logger.info("local executor started with %d worker processes", workers)

    def __enter__(self) -> LocalExecutor:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.shutdown(wait=False)

    def submit(self, spec: JobSpec) -> None:
        """Queue a pending operation's job; it starts when a worker is free (FIFO)."""
        with self._lock:
            check_submittable(
                self._operations,
                spec,
                executor="local",
                closing=self._closing,
                known=self._knows(spec.operation_id),
            )
            self._queue.append(spec)
            if self._boot_error and not self._slots:
                self._fail_queued(self._boot_error)
            logger.info("operation %s: job %s queued", spec.operation_id, spec.job)
        self._wake()

    def cancel(self, operation_id: str) -> None:
        """Cancel the operation in the store and stop its job now (or drop it from the queue)."""
        with self._lock:
            if not self._knows(operation_id):
                logger.debug(
                    "operation %s: not run by this executor, nothing to stop", operation_id
                )
                return
        # Already terminal: the job is stopped below only if that end was a cancellation.
        with contextlib.suppress(InvalidTransitionError):
            self._operations.cancel(operation_id, FORCE_STOP_REASON)
        cancelled = self._operations.is_cancelled(operation_id)
        with self._lock:
            self._drop_queued(operation_id)
            slot = self._slot_of(operation_id)
            if slot is not None and cancelled and slot.stop_sent_at is None:
                self._force_stop(slot, "cancel requested")
        self._wake()

    def shares_disk(self, job: str) -> bool:
        """Always: the workers are processes of this machine."""
        return True

    def is_alive(self, operation_id: str) -> bool:
        """True while the job is queued or running on a live worker (not being force-stopped)."""
        with self._lock:
            if any(spec.operation_id == operation_id for spec in self._queue):
                return True
            slot = self._slot_of(operation_id)
            return slot is not None and slot.stop_sent_at is None and slot.process.is_alive()

    def running(self) -> list[str]:
        """The operation ids running on a worker now."""
        with self._lock:
            return [
                s.operation_id for s in self._slots if s.operation_id and s.stop_sent_at is None
            ]

    def health(self) -> dict[str, Any]:
        """Pool state, e.g. ``{"kind": "local", "workers": 2, "busy": 1, "queued": 0,
        "worker_pids": [...], "jobs": {operation_id: pid}}``."""
        with self._lock:
            return {
                "kind": "local",
                "workers": len(self._slots),
                "busy": sum(1 for s in self._slots if s.operation_id is not None),
                "queued": len(self._queue),
                "worker_pids": [s.process.pid for s in self._slots],
                "jobs": {s.operation_id: s.process.pid for s in self._slots if s.operation_id},
            }

    def shutdown(self, wait: bool = True) -> None:
        """Stop the pool; ``wait`` lets running jobs finish, else workers are terminated now."""
        with self._lock:
            if self._stopped:
                return
            self._closing = True
            while wait and any(s.operation_id is not None for s in self._slots):
                self._lock.wait(timeout=STORE_POLL_INTERVAL)
            self._stopped = True
            left = [spec.operation_id for spec in self._queue]
            self._queue.clear()
        self._wake()
        self._thread.join()
        for slot in self._slots:
            self._stop_worker(slot, gently=wait)
        self._wake_reader.close()
        self._wake_writer.close()
        atexit.unregister(self._shutdown_at_exit)
        logger.info("local executor shut down; %d queued jobs not started: %s", len(left), left)

    def _shutdown_at_exit(self) -> None:
        self.shutdown(wait=False)

    def _start_worker(self) -> _Slot:
        parent_end, child_end = self._context.Pipe()
        process = self._context.Process(
            target=worker_main, args=(child_end, self._config), name="ktrdr-worker", daemon=False
        )
        process.start()
        child_end.close()
        logger.debug("worker process %d started", process.pid)
        return _Slot(process=process, connection=parent_end)

    def _stop_worker(self, slot: _Slot, *, gently: bool) -> None:
        if gently and not slot.connection_closed:
            with contextlib.suppress(OSError):
                slot.connection.send(None)
        else:
            slot.process.terminate()
        slot.process.join(timeout=max(self._grace_seconds, KILL_AFTER_SECONDS))
        if slot.process.is_alive():
            slot.process.kill()
            slot.process.join()
        slot.connection.close()

    def _wake(self) -> None:
        with contextlib.suppress(OSError):  # closed at shutdown: nobody left to wake
            self._wake_writer.send_bytes(b"!")

    def _knows(self, operation_id: str) -> bool:
        queued = any(spec.operation_id == operation_id for spec in self._queue)
        return queued or self._slot_of(operation_id) is not None

    def _slot_of(self, operation_id: str) -> _Slot | None:
        return next((s for s in self._slots if s.operation_id == operation_id), None)

    def _drop_queued(self, operation_id: str) -> None:
        for spec in [s for s in self._queue if s.operation_id == operation_id]:
            self._queue.remove(spec)
            logger.info("operation %s: dropped from the queue (no longer pending)", operation_id)
            self.events.job_ended(operation_id)

    def _dispatch(self) -> None:
        next_poll = 0.0
        while True:
            with self._lock:
                if self._stopped:
                    return
                waitables = self._step()
            ready = wait(waitables, timeout=max(0.0, next_poll - time.monotonic()))
            with self._lock:
                self._guarded(lambda ready=ready: self._handle(ready))
                if time.monotonic() >= next_poll:
                    self._guarded(self._poll_store)
                    next_poll = time.monotonic() + STORE_POLL_INTERVAL

    def _step(self) -> list[Any]:
        if not self._closing:
            self._guarded(self._assign)
        now = time.monotonic()
        for slot in self._slots:
            stopping = (
                slot.stop_sent_at is not None and now - slot.stop_sent_at >= KILL_AFTER_SECONDS
            )
            if stopping and slot.process.is_alive():
                slot.process.kill()
        connections = [s.connection for s in self._slots if not s.connection_closed]
        sentinels = [s.process.sentinel for s in self._slots]
        return [self._wake_reader, *connections, *sentinels]

    def _handle(self, ready: list[Any]) -> None:
        if self._wake_reader in ready:
            while self._wake_reader.poll():
                self._wake_reader.recv_bytes()
        for slot in list(self._slots):
            if slot.connection in ready:
                self._receive(slot)
        for slot in list(self._slots):
            if slot.process.sentinel in ready:
                self._guarded(lambda slot=slot: self._on_exit(slot))

    def _guarded(self, action: Any) -> None:
        try:
            action()
        except Exception:
            logger.exception("local executor: dispatcher step failed; continuing")

    def _assign(self) -> None:
        for slot in self._slots:
            if not self._queue:
                return
            if not slot.idle:
                continue
            spec = self._next_pending()
            if spec is None:
                return
            try:
                slot.connection.send(spec)
            except OSError:
                self._queue.appendleft(spec)
                slot.connection_closed = True
                continue
            except Exception as exc:
                message = f"job could not be sent to a worker: {type(exc).__name__}: {exc}"
                self._fail_lost(spec.operation_id, message)
                continue
            slot.operation_id = spec.operation_id
            logger.info("operation %s: sent to worker %d", spec.operation_id, slot.process.pid)

    def _next_pending(self) -> JobSpec | None:
        while self._queue:
            spec = self._queue.popleft()
            status = self._operations.store.status_of(spec.operation_id)
            if status is OperationStatus.PENDING:
                return spec
            logger.info("operation %s: dropped from the queue: it is %s", spec.operation_id, status)
            self.events.job_ended(spec.operation_id)  # ended elsewhere, e.g. cancelled
        return None

    def _receive(self, slot: _Slot) -> None:
        try:
            message = slot.connection.recv()
        except (EOFError, OSError):
            slot.connection_closed = True
            return
        if message[0] == "ready":
            slot.booted = True
            self._boot_failures = 0
            return
        _, operation_id, outcome = message
        logger.debug("operation %s: worker %d reports %s", operation_id, slot.process.pid, outcome)
        if slot.operation_id == operation_id:
            slot.operation_id = None
            slot.cancel_seen_at = None
        self._lock.notify_all()
        self.events.job_ended(operation_id)

    def _on_exit(self, slot: _Slot) -> None:
        while not slot.connection_closed and slot.connection.poll():
            self._receive(slot)
        slot.process.join()
        self._slots.remove(slot)
        slot.connection.close()
        self._replace(slot)
        self._lock.notify_all()
        if slot.operation_id is None:
            logger.warning(
                "idle worker process %d exited (%s)", slot.process.pid, slot.process.exitcode
            )
        elif slot.stop_sent_at is not None:
            logger.info("operation %s: job force-stopped", slot.operation_id)
            self.events.job_ended(slot.operation_id)
        else:
            self._fail_lost(
                slot.operation_id,
                describe_exit(slot.process.pid, slot.process.exitcode),
                code=FailureCode.WORKER_LOST,
            )

    def _replace(self, slot: _Slot) -> None:
        if self._closing:
            return
        if not slot.booted:
            self._boot_failures += 1
        if self._boot_failures < MAX_BOOT_FAILURES:
            self._slots.append(self._start_worker())
            return
        self._boot_error = (
            f"worker processes cannot start: {MAX_BOOT_FAILURES} in a row exited while starting "
            f"(last exit code {slot.process.exitcode}); see the server log"
        )
        logger.error("local executor: %s; not replacing them", self._boot_error)
        if not self._slots:
            self._fail_queued(self._boot_error)

    def _fail_queued(self, message: str) -> None:
        while self._queue:
            self._fail_lost(self._queue.popleft().operation_id, message)

    def _fail_lost(
        self, operation_id: str, message: str, *, code: FailureCode | None = None
    ) -> None:
        logger.error("operation %s: %s", operation_id, message)
        try:
            self._operations.fail(operation_id, message, code=code)
        except InvalidTransitionError:
            logger.info("operation %s: already ended; worker loss not recorded", operation_id)
        except KtrdrError as exc:
            logger.error("operation %s: worker loss not recorded: %s", operation_id, exc)
        self.events.job_ended(operation_id)

    def _poll_store(self) -> None:
        now = time.monotonic()
        for slot in self._slots:
            if slot.operation_id is None or slot.stop_sent_at is not None:
                continue
            if slot.cancel_seen_at is None and self._is_cancelled(slot.operation_id):
                slot.cancel_seen_at = now
                logger.info(
                    "operation %s: cancelled; job has %.1fs to stop",
                    slot.operation_id,
                    self._grace_seconds,
                )
            reason = overdue_cancel(slot.cancel_seen_at, now, self._grace_seconds)
            if reason:
                self._force_stop(slot, reason)
        for spec in list(self._queue):
            if self._is_cancelled(spec.operation_id):
                self._drop_queued(spec.operation_id)

    def _is_cancelled(self, operation_id: str) -> bool:
        try:
            return self._operations.is_cancelled(operation_id)
        except KtrdrError as exc:
            logger.warning("operation %s: status not read: %s", operation_id, exc)
            return False

    def _force_stop(self, slot: _Slot, reason: str) -> None:
        logger.warning(
            "operation %s: force-stopping worker %d: %s",
            slot.operation_id,
            slot.process.pid,
            reason,
        )
        slot.stop_sent_at = time.monotonic()
        slot.process.terminate()
