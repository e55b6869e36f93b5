"""One server per ``KTRDR_HOME``: an exclusive lock file held for the server's life."""

from __future__ import annotations

import fcntl
import json
import os
import socket
from pathlib import Path

from ktrdr.errors import ConflictError

LOCK_FILE = "server.lock"


class HomeLock:
    """An ``fcntl.flock`` on ``<home>/server.lock``; the kernel drops it when the process dies."""

    def __init__(self, home: Path) -> None:
        self.path = Path(home) / LOCK_FILE
        self._fd: int | None = None

    def acquire(self, *, host: str, port: int) -> HomeLock:
        """Take the lock and record the holder; ConflictError naming the holder when taken."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            raise ConflictError(
                f"another ktrdr server holds {self.path.parent} ({self._holder()}); "
                "stop it or use another KTRDR_HOME",
                details={"lock_file": str(self.path)},
            ) from None
        holder = {"pid": os.getpid(), "host": socket.gethostname(), "port": port, "bind": host}
        os.ftruncate(fd, 0)
        os.pwrite(fd, json.dumps(holder).encode(), 0)
        self._fd = fd
        return self

    def release(self) -> None:
        """Drop the lock (also dropped by the kernel on exit or crash)."""
        if self._fd is not None:
            fcntl.flock(self._fd, fcntl.LOCK_UN)
            os.close(self._fd)
            self._fd = None

    def _holder(self) -> str:
        try:
            holder = json.loads(self.path.read_text(encoding="utf-8"))
            return f"pid {holder['pid']} on host {holder['host']}, port {holder['port']}"
        except (OSError, ValueError, KeyError, TypeError):
            return "holder unknown"
