"""Fixtures shared by every test: an isolated KTRDR_HOME, and the store on SQLite and PostgreSQL."""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from ktrdr.operations import OperationsService, OperationsStore
from ktrdr.settings import reset_settings

POSTGRES_URL_ENV = "KTRDR_TEST_POSTGRES_URL"


@pytest.fixture(autouse=True)
def ktrdr_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """Every test gets its own KTRDR_HOME and fresh settings; nothing touches ~/.ktrdr."""
    home = tmp_path / "ktrdr_home"
    monkeypatch.setenv("KTRDR_HOME", str(home))
    monkeypatch.delenv("KTRDR_DATABASE_URL", raising=False)
    monkeypatch.delenv("KTRDR_API_TOKEN", raising=False)
    reset_settings()
    yield home
    reset_settings()


@pytest.fixture
def postgres_url() -> Iterator[str]:
    """A fresh, empty PostgreSQL database (dropped afterwards)."""
    server_url = os.environ.get(POSTGRES_URL_ENV)
    if not server_url:
        if os.environ.get("KTRDR_REQUIRE_POSTGRES") == "1":
            pytest.fail(f"{POSTGRES_URL_ENV} is not set but KTRDR_REQUIRE_POSTGRES=1")
        pytest.skip(f"no PostgreSQL server: set {POSTGRES_URL_ENV} (make test starts one)")
    name = f"ktrdr_test_{secrets.token_hex(6)}"
    admin = create_engine(
        make_url(server_url).set(drivername="postgresql+psycopg"), isolation_level="AUTOCOMMIT"
    )
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    yield make_url(server_url).set(database=name).render_as_string(hide_password=False)
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """The store URL, once per backend."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'ktrdr.db'}"
    return request.getfixturevalue("postgres_url")


@pytest.fixture
def store(database_url: str) -> Iterator[OperationsStore]:
    """A migrated, empty operations store."""
    opened = OperationsStore.from_url(database_url)
    yield opened
    opened.dispose()


@pytest.fixture
def operations(store: OperationsStore) -> OperationsService:
    """An operations service without progress throttling."""
    return OperationsService(store, progress_min_interval=0.0)


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    """Say how many PostgreSQL-backed tests ran, so a CI log shows they did not skip."""
    outcomes: dict[str, int] = {}
    for outcome in ("passed", "failed", "skipped", "error"):
        for report in terminalreporter.stats.get(outcome, []):
            nodeid = getattr(report, "nodeid", "")
            if "postgres" in nodeid and getattr(report, "when", "call") in {"call", "setup"}:
                outcomes[outcome] = outcomes.get(outcome, 0) + 1
    summary = ", ".join(f"{count} {outcome}" for outcome, count in sorted(outcomes.items()))
    terminalreporter.write_line(f"PostgreSQL-backed tests: {summary or 'none collected'}")
