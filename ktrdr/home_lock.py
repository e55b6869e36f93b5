"""One server per home and per database: locks held for the server's life.

``HomeLock`` is a lock file in ``KTRDR_HOME``; ``DatabaseLock`` a PostgreSQL advisory lock, so
two servers on two homes sharing one database cannot both recover and drive the same cycles.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import socket
from pathlib import Path

from sqlalchemy import Connection, create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.pool import NullPool

from ktrdr.errors import ConflictError, TransientError

LOCK_FILE = "server.lock"
SERVER_LOCK_KEY = 0x6B747273  # "ktrs": the API server's advisory lock (migrations use "ktrd")
HOLDER_PREFIX = "ktrdr serve"


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


class DatabaseLock:
    """``pg_try_advisory_lock`` on a dedicated PostgreSQL connection; no-op for SQLite.

    PostgreSQL drops the lock when that connection ends: the server exits or crashes, or the
    database restarts (then nothing re-takes it; see docs/security.md).
    """

    def __init__(self, database_url: str) -> None:
        self.url = make_url(database_url)
        self._connection: Connection | None = None

    def acquire(self, *, host: str, port: int) -> DatabaseLock:
        """Take the lock; ConflictError naming the holder when another server has it."""
        if self.url.get_backend_name() != "postgresql":
            return self
        url = self.url
        if url.drivername == "postgresql":
            url = url.set(drivername="postgresql+psycopg")
        holder = f"{HOLDER_PREFIX} pid {os.getpid()}, port {port}, host {socket.gethostname()}"
        engine = create_engine(
            url, poolclass=NullPool, connect_args={"application_name": holder[:63]}
        )
        shown = self.url.render_as_string(hide_password=True)
        try:
            connection = engine.connect()
            taken = connection.execute(
                text("SELECT pg_try_advisory_lock(:key)"), {"key": SERVER_LOCK_KEY}
            ).scalar()
            connection.commit()  # the lock is session-level: it outlives this transaction
        except SQLAlchemyError as exc:
            raise TransientError(
                f"cannot reach the database {shown}: {str(exc).splitlines()[0]}"
            ) from None
        if not taken:
            other = self._holder(connection)
            connection.close()
            raise ConflictError(
                f"another ktrdr server uses the database {shown} ({other}); "
                "run one API server per database",
                details={"database": shown},
            )
        self._connection = connection
        return self

    def release(self) -> None:
        """Close the lock's connection, which drops the lock."""
        if self._connection is not None:
            with contextlib.suppress(SQLAlchemyError):  # the database is gone: so is the lock
                self._connection.close()
            self._connection = None

    @staticmethod
    def _holder(connection: Connection) -> str:
        row = connection.execute(
            text(
                "SELECT a.application_name, a.client_addr FROM pg_locks l "
                "JOIN pg_stat_activity a ON a.pid = l.pid "
                "WHERE l.locktype = 'advisory' AND l.granted AND l.classid = 0 "
                "AND l.objid = :key AND l.database = "
                "(SELECT oid FROM pg_database WHERE datname = current_database())"
            ),
            {"key": SERVER_LOCK_KEY},
        ).first()
        if row is None:
            return "holder unknown"
        name, address = row
        where = f" from {address}" if address else ""
        return f"{name.removeprefix(HOLDER_PREFIX).strip()}{where}" if name else f"a client{where}"
