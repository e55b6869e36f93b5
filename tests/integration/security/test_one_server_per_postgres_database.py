"""Finding 1 across homes: two `ktrdr serve` sharing one PostgreSQL database cannot both run."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from support.server import ServerProcess, free_port

from ktrdr.operations import OperationsService, OperationsStore, OperationStatus, OperationType

SECOND_START_TIMEOUT = 90


def serve_on(home: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    """Run `ktrdr serve` on ``home`` on a fresh port, until it exits."""
    home.mkdir(exist_ok=True)
    return subprocess.run(
        [sys.executable, "-m", "ktrdr.cli.main", "serve", "--port", str(free_port())],
        env={**env, "KTRDR_HOME": str(home)},
        capture_output=True,
        text=True,
        timeout=SECOND_START_TIMEOUT,
    )


def test_a_second_server_on_the_same_database_refuses_and_leaves_jobs_alone(
    tmp_path: Path, postgres_url: str
):
    (tmp_path / "a").mkdir()
    first = ServerProcess(tmp_path / "a", KTRDR_DATABASE_URL=postgres_url).start()
    store = OperationsStore.from_url(postgres_url)
    try:
        operations = OperationsService(store)
        running = operations.create(OperationType.TRAINING, metadata={"parameters": {}})
        operations.start(running.operation_id)

        second = serve_on(tmp_path / "b", first.env)

        assert second.returncode == 1
        lines = second.stderr.strip().splitlines()
        assert len(lines) == 1, second.stderr
        assert f"pid {first.process.pid}" in lines[0]
        assert f"port {first.port}" in lines[0]
        assert operations.get(running.operation_id).status == OperationStatus.RUNNING
    finally:
        first.stop()
        store.dispose()


def test_the_database_lock_is_released_when_its_server_is_killed(tmp_path: Path, postgres_url: str):
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    first = ServerProcess(tmp_path / "a", KTRDR_DATABASE_URL=postgres_url).start()
    first.kill()

    again = ServerProcess(tmp_path / "b", KTRDR_DATABASE_URL=postgres_url)
    try:
        again.start()
        assert again.client.get("/health").status_code == 200
    finally:
        again.stop()
