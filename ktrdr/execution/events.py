"""In-process notices that a job has ended, for whoever waits on it (the research loops)."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

logger = logging.getLogger(__name__)

Listener = Callable[[str], None]


class JobEvents:
    """Listeners called with an operation id once its job's outcome is in the store."""

    def __init__(self) -> None:
        self._listeners: list[Listener] = []
        self._lock = threading.Lock()

    def subscribe(self, listener: Listener) -> None:
        """Call ``listener(operation_id)`` after every job that ends from now on."""
        with self._lock:
            self._listeners.append(listener)

    def job_ended(self, operation_id: str) -> None:
        """Tell every listener; a listener that raises is logged and the others still run."""
        with self._lock:
            listeners = list(self._listeners)
        for listener in listeners:
            try:
                listener(operation_id)
            except Exception:
                logger.exception("operation %s: a job-ended listener failed", operation_id)
