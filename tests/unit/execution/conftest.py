"""Fixtures for the execution unit tests: a SQLite store and job modules written to tmp_path."""

from __future__ import annotations

import secrets
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest

from ktrdr.operations import OperationsService, OperationsStore

JOBS_SOURCE = """
from ktrdr.errors import StrategyValidationError
from ktrdr.execution import JobCancelled
from ktrdr.operations import OperationsService, OperationsStore


def echo(operation_id, request):
    return {"operation_id": operation_id, **request}


def nothing(operation_id, request):
    return None


def number(operation_id, request):
    return 3


def invalid_strategy(operation_id, request):
    raise StrategyValidationError([{"path": "indicators.rsi", "message": "unknown type 'rsii'"}])


def broken(operation_id, request):
    return {}["close"]


def unstorable(operation_id, request):
    return {"when": object()}


def cancel_then_return(operation_id, request):
    OperationsService(OperationsStore.from_url(request["url"])).cancel(operation_id)
    return {"late": True}


def quit_as_cancelled(operation_id, request):
    raise JobCancelled(operation_id)
"""


@pytest.fixture
def database_url(tmp_path: Path) -> str:
    """A SQLite store file in the test's temp dir."""
    return f"sqlite:///{tmp_path / 'ktrdr.db'}"


@pytest.fixture
def operations(database_url: str) -> Iterator[OperationsService]:
    """An operations service on a fresh SQLite store, progress unthrottled."""
    store = OperationsStore.from_url(database_url)
    yield OperationsService(store, progress_min_interval=0.0)
    store.dispose()


@pytest.fixture
def jobs_module(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    """The name of an importable module of small jobs (written to tmp_path, put on sys.path)."""
    name = f"unit_jobs_{secrets.token_hex(4)}"
    folder = tmp_path / "jobs"
    folder.mkdir()
    (folder / f"{name}.py").write_text(textwrap.dedent(JOBS_SOURCE))
    monkeypatch.syspath_prepend(str(folder))
    return name
