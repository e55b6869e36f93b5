"""Start-up check of a SQLite store: a corrupt file is one clear line, not a traceback."""

from __future__ import annotations

import sqlite3
from contextlib import closing
from pathlib import Path

from sqlalchemy.engine import make_url

from ktrdr.errors import DataError

ADVICE = "restore it from a backup, or move it aside to start with an empty store"


def check_sqlite_store(database_url: str) -> None:
    """Run ``PRAGMA quick_check`` on an existing SQLite store; DataError naming the file if bad."""
    url = make_url(database_url)
    if url.get_backend_name() != "sqlite" or not url.database or url.database == ":memory:":
        return
    path = Path(url.database)
    if not path.is_file():
        return
    try:
        with closing(sqlite3.connect(f"file:{path}?mode=ro", uri=True)) as connection:
            rows = connection.execute("PRAGMA quick_check").fetchall()
    except sqlite3.DatabaseError as exc:
        raise DataError(f"the store {path} is corrupt ({exc}); {ADVICE}") from exc
    problems = [row[0] for row in rows if row[0] != "ok"]
    if problems:
        raise DataError(
            f"the store {path} is corrupt ({len(problems)} problems, first: {problems[0]}); "
            + ADVICE
        )
