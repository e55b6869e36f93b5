"""Finding 1: a second `ktrdr serve` on the same KTRDR_HOME refuses before any recovery."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from support.server import ServerProcess, free_port

from ktrdr.operations import OperationsService, OperationsStore, OperationStatus, OperationType

SECOND_START_TIMEOUT = 90


def second_serve(home: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    """Run another `ktrdr serve` on ``home`` on a fresh port, until it exits."""
    return subprocess.run(
        [sys.executable, "-m", "ktrdr.cli.main", "serve", "--port", str(free_port())],
        env={**env, "KTRDR_HOME": str(home)},
        capture_output=True,
        text=True,
        timeout=SECOND_START_TIMEOUT,
    )


@pytest.fixture
def server(tmp_path: Path):
    (tmp_path / "home").mkdir()
    started = ServerProcess(tmp_path / "home").start()
    yield started
    started.stop()


def test_a_second_server_refuses_naming_the_holder_and_leaves_running_jobs_alone(server):
    store = OperationsStore.from_url(f"sqlite:///{server.home / 'ktrdr.db'}")
    operations = OperationsService(store)
    running = operations.create(OperationType.TRAINING, metadata={"parameters": {}})
    operations.start(running.operation_id)

    second = second_serve(server.home, server.env)

    assert second.returncode == 1
    lines = second.stderr.strip().splitlines()
    assert len(lines) == 1
    assert f"pid {server.process.pid}" in lines[0]
    assert f"port {server.port}" in lines[0]
    assert operations.get(running.operation_id).status == OperationStatus.RUNNING
    store.dispose()


def test_the_lock_is_released_when_the_holder_is_killed(tmp_path: Path):
    (tmp_path / "home").mkdir()
    first = ServerProcess(tmp_path / "home").start()
    first.kill()

    again = ServerProcess(tmp_path / "home")
    try:
        again.start()
        assert again.client.get("/health").status_code == 200
    finally:
        again.stop()


def test_a_short_api_token_is_refused_at_start_in_one_line(tmp_path: Path):
    result = second_serve(tmp_path / "home", {**os.environ, "KTRDR_API_TOKEN": "x"})

    assert result.returncode == 1
    assert len(result.stderr.strip().splitlines()) == 1
    assert "at least 24" in result.stderr


def corrupt_in_the_middle(database: Path) -> None:
    data = bytearray(database.read_bytes())
    data[4096:8192] = b"\xa5" * 4096
    database.write_bytes(bytes(data))


@pytest.mark.parametrize("damage", ["garbage", "middle"])
def test_a_corrupt_store_is_one_line_at_start(tmp_path: Path, damage: str):
    home = tmp_path / "home"
    home.mkdir()
    database = home / "ktrdr.db"
    if damage == "garbage":
        database.write_bytes(b"this is not a database" * 500)
    else:
        store = OperationsStore.from_url(f"sqlite:///{database}")
        operations = OperationsService(store)
        for _ in range(200):
            operations.create(OperationType.TRAINING, metadata={"parameters": {"x": "y" * 200}})
        store.dispose()
        corrupt_in_the_middle(database)

    result = second_serve(home, dict(os.environ))

    assert result.returncode == 1
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1
    assert "corrupt" in lines[0]
    assert str(database) in lines[0]
