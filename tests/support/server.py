"""A real `ktrdr serve` process on a free loopback port, for end-to-end tests."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx

START_TIMEOUT_SECONDS = 90.0
LOOPBACK = "http://127.0.0.1"  # TestClient's base URL: its default host is not an allowed Host


def free_port() -> int:
    """A loopback port nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class ServerProcess:
    """`python -m ktrdr.cli.main serve` with its own KTRDR_HOME; start, kill, restart."""

    def __init__(self, home: Path, **env: str) -> None:
        self.home = home
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.env = {
            **os.environ,
            "KTRDR_HOME": str(home),
            "KTRDR_API_URL": self.url,
            "KTRDR_AGENT_POLL_INTERVAL": "0.2",
            "KTRDR_WORKERS": "2",
            **env,
        }
        self.process: subprocess.Popen[bytes] | None = None
        self.client = httpx.Client(base_url=f"{self.url}/api/v1", timeout=30.0)

    def start(self) -> ServerProcess:
        """Start the server and wait until /health answers."""
        log = open(self.home / f"server-{time.monotonic_ns()}.log", "wb")  # noqa: SIM115
        self.process = subprocess.Popen(
            [sys.executable, "-m", "ktrdr.cli.main", "serve", "--port", str(self.port)],
            env=self.env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        deadline = time.monotonic() + START_TIMEOUT_SECONDS
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"server exited with {self.process.returncode}; see {log.name}")
            try:
                if self.client.get("/health").status_code == 200:
                    return self
            except httpx.TransportError:
                time.sleep(0.1)
        raise RuntimeError(f"server did not answer within {START_TIMEOUT_SECONDS}s")

    def kill(self) -> None:
        """SIGKILL the server and its worker processes (its whole process group)."""
        if self.process is not None and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=30)

    def stop(self) -> None:
        """Stop the server gently (SIGTERM), then make sure nothing of it is left."""
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.kill()
        if self.process is not None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, signal.SIGKILL)

    def get(self, path: str, **params: Any) -> dict[str, Any]:
        """GET an API path (under /api/v1) as JSON."""
        return self.client.get(path, params=params).json()

    def post(self, path: str, body: dict[str, Any]) -> httpx.Response:
        """POST JSON to an API path."""
        return self.client.post(path, json=body)

    def operation(self, operation_id: str) -> dict[str, Any]:
        """One operation's data."""
        return self.get(f"/operations/{operation_id}")["data"]
