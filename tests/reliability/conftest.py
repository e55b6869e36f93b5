"""Fault-injection fixtures: real servers on a temp home, a PostgreSQL cluster of our own."""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from reliability.cycles import PostgresCluster
from support.cycles import write_quick_strategy
from support.server import ServerProcess, free_port


@pytest.fixture
def home(tmp_path: Path) -> Path:
    """A KTRDR_HOME with a 3-epoch strategy and a 120-epoch one (seconds of training to hit)."""
    folder = tmp_path / "home"
    folder.mkdir()
    write_quick_strategy(folder, "quick_eurusd", epochs=3)
    write_quick_strategy(folder, "long_eurusd", epochs=120)
    return folder


@pytest.fixture
def server(home: Path) -> Iterator[ServerProcess]:
    """A `ktrdr serve` process (SQLite) on a free port; stopped afterwards."""
    running = ServerProcess(home).start()
    yield running
    running.stop()


def _pg_bin() -> Path | None:
    found = sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"))
    return found[-1].parent if found else None


@pytest.fixture
def postgres_cluster() -> Iterator[PostgresCluster]:
    """A PostgreSQL cluster of this test's own (the shared one must not be restarted)."""
    pg_bin = _pg_bin()
    if pg_bin is None:
        if os.environ.get("KTRDR_REQUIRE_POSTGRES") == "1":
            pytest.fail("PostgreSQL binaries not found but KTRDR_REQUIRE_POSTGRES=1")
        pytest.skip("no PostgreSQL binaries under /usr/lib/postgresql")
    # Not under pytest's tmp dir: the postgres user cannot enter root's 0700 folders.
    workdir = Path(tempfile.mkdtemp(prefix="ktrdr-reliability-pg."))
    as_postgres: tuple[str, ...] = ()
    if os.geteuid() == 0:  # the server refuses to run as root
        shutil.chown(workdir, "postgres", "postgres")
        as_postgres = ("runuser", "-u", "postgres", "--")
    initdb = [str(pg_bin / "initdb"), "-D", str(workdir / "data"), "-A", "trust", "-U", "postgres"]
    subprocess.run(
        [*as_postgres, *initdb],
        check=True,
        capture_output=True,
        timeout=120,
    )
    cluster = PostgresCluster(pg_bin, workdir, free_port(), as_postgres)
    cluster.start()
    yield cluster
    cluster.pg_ctl("-m", "immediate", "stop")
    shutil.rmtree(workdir, ignore_errors=True)


@pytest.fixture
def start_server(home: Path) -> Iterator[Callable[..., ServerProcess]]:
    """Start servers on ``home`` with env overrides; all are stopped afterwards."""
    started: list[ServerProcess] = []

    def start(**env: str) -> ServerProcess:
        running = ServerProcess(home, **env).start()
        started.append(running)
        return running

    yield start
    for running in started:
        running.stop()
