"""A throw-away Ray cluster for the cluster tests: a head and a tagged worker node via `ray start`.

Both nodes run `ray start --block` in their own session, under a private temp dir and a private
auth token, so the tests never touch another Ray on this machine: stopping a node is killing
its process group, never `ray stop`.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from support.server import free_port

RAY = str(Path(sys.executable).with_name("ray"))
WORKER_RESOURCE = "ktrdr_worker"
OBJECT_STORE_BYTES = str(200 * 1024 * 1024)
NODE_START_TIMEOUT = 90.0
NODES_SCRIPT = """
import json, sys, ray
ray.init(address=sys.argv[1], log_to_driver=False)
nodes = [n for n in ray.nodes() if n["Alive"]]
keys = {"node_id": "NodeID", "address": "NodeManagerAddress", "resources": "Resources"}
print(json.dumps([{key: node[name] for key, name in keys.items()} for node in nodes]))
"""


class RayCluster:
    """A head node (1 CPU) and a worker node (1 CPU, ``ktrdr_worker: 2``) on loopback."""

    def __init__(self) -> None:
        # Short: Ray's unix socket paths live under it and must stay below ~107 characters.
        self.temp_dir = Path(tempfile.mkdtemp(prefix="kr", dir="/tmp"))
        self.port = free_port()
        self.address = f"127.0.0.1:{self.port}"
        self.env = {
            **os.environ,
            "RAY_TMPDIR": str(self.temp_dir),
            "RAY_AUTH_MODE": "token",
            "RAY_AUTH_TOKEN": secrets.token_hex(32),
            "RAY_USAGE_STATS_ENABLED": "0",
            # Declare a killed node dead after ~3 s instead of Ray's default ~15 s.
            "RAY_health_check_period_ms": "1000",
            "RAY_health_check_timeout_ms": "1000",
            "RAY_health_check_failure_threshold": "3",
        }
        self.head: subprocess.Popen[bytes] | None = None
        self.worker: subprocess.Popen[bytes] | None = None

    def start(self) -> RayCluster:
        """Start the head, then the worker node; return once Ray sees both."""
        self.head = self._start_node(
            "head",
            "--head",
            f"--port={self.port}",
            f"--ray-client-server-port={free_port()}",
            f"--dashboard-port={free_port()}",
            "--include-dashboard=false",
            f"--temp-dir={self.temp_dir}",
        )
        self.wait_for_nodes(1)
        self.worker = self.start_worker()
        self.wait_for_nodes(2)
        return self

    def start_worker(self) -> subprocess.Popen[bytes]:
        """A node joining the head, offering the custom resource the jobs ask for."""
        return self._start_node(
            f"worker-{time.monotonic_ns()}",
            f"--address={self.address}",
            f'--resources={{"{WORKER_RESOURCE}": 2}}',
        )

    def _start_node(self, name: str, *args: str) -> subprocess.Popen[bytes]:
        log = open(self.temp_dir / f"{name}.log", "wb")  # noqa: SIM115
        return subprocess.Popen(
            [
                RAY,
                "start",
                "--block",
                "--num-cpus=1",
                "--disable-usage-stats",
                "--node-ip-address=127.0.0.1",
                f"--object-store-memory={OBJECT_STORE_BYTES}",
                *args,
            ],
            env=self.env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    def alive_nodes(self) -> list[dict[str, Any]]:
        """``[{"node_id", "address", "resources"}]`` of the live nodes (a short-lived driver)."""
        out = subprocess.run(
            [sys.executable, "-c", NODES_SCRIPT, self.address],
            env=self.env,
            capture_output=True,
            text=True,
            timeout=60,
        )
        if out.returncode != 0:
            return []
        return json.loads(out.stdout.strip().splitlines()[-1])

    def wait_for_nodes(self, count: int) -> list[dict[str, Any]]:
        """The live nodes once there are ``count``; RuntimeError after a deadline."""
        deadline = time.monotonic() + NODE_START_TIMEOUT
        while time.monotonic() < deadline:
            for process in (self.head, self.worker):
                if process is not None and process.poll() is not None:
                    raise RuntimeError(f"a ray node exited early; see logs in {self.temp_dir}")
            nodes = self.alive_nodes()
            if len(nodes) >= count:
                return nodes
            time.sleep(0.5)
        raise RuntimeError(f"ray cluster did not reach {count} nodes; see logs in {self.temp_dir}")

    def worker_node(self) -> dict[str, Any]:
        """``{"node_id", "address", "resources"}`` of the node offering ``ktrdr_worker``."""
        return next(n for n in self.alive_nodes() if WORKER_RESOURCE in n["resources"])

    def kill_worker(self) -> None:
        """SIGKILL the worker node: its raylet, object store and job processes."""
        _kill_group(self.worker)
        self.worker = None

    def stop(self) -> None:
        """Kill both nodes and remove the temp dir."""
        _kill_group(self.worker)
        _kill_group(self.head)
        shutil.rmtree(self.temp_dir, ignore_errors=True)

    def server_env(self, database_url: str, **extra: str) -> dict[str, str]:
        """Environment for a ktrdr server using this cluster and ``database_url``."""
        return {
            "RAY_TMPDIR": self.env["RAY_TMPDIR"],
            "RAY_AUTH_MODE": "token",
            "RAY_AUTH_TOKEN": self.env["RAY_AUTH_TOKEN"],
            "RAY_USAGE_STATS_ENABLED": "0",
            "KTRDR_EXECUTOR": "ray",
            "KTRDR_RAY_ADDRESS": self.address,
            "KTRDR_RAY_JOB_RESOURCES": f'{{"{WORKER_RESOURCE}": 1}}',
            "KTRDR_DATABASE_URL": database_url,
            "KTRDR_WORKERS": "1",
            "KTRDR_CANCEL_GRACE_SECONDS": "1",
            **extra,
        }


def _kill_group(process: subprocess.Popen[bytes] | None) -> None:
    if process is None:
        return
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGKILL)
    process.wait(timeout=30)


@pytest.fixture(scope="module")
def ray_cluster() -> Iterator[RayCluster]:
    """One cluster for the module (starting Ray costs ~15 s on two cores)."""
    cluster = RayCluster()
    try:
        yield cluster.start()
    finally:
        cluster.stop()
