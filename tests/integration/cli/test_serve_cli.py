"""``ktrdr serve`` as a real process: it answers, and logs JSON lines when asked."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx

REPO_ROOT = Path(__file__).resolve().parents[3]
START_TIMEOUT = 60.0


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _wait_for_health(url: str, process: subprocess.Popen) -> httpx.Response:
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline and process.poll() is None:
        try:
            return httpx.get(url, timeout=1.0)
        except httpx.TransportError:
            time.sleep(0.1)
    raise AssertionError(f"ktrdr serve did not answer at {url}")


def test_serve_answers_health_and_logs_json_lines(tmp_path):
    port = _free_port()
    env = {
        **os.environ,
        "PYTHONPATH": str(REPO_ROOT),
        "KTRDR_HOME": str(tmp_path / "home"),
        "KTRDR_LOG_FORMAT": "json",
    }
    for name in ("KTRDR_API_TOKEN", "KTRDR_DATABASE_URL"):
        env.pop(name, None)
    process = subprocess.Popen(
        [sys.executable, "-m", "ktrdr.cli.main", "serve", "--port", str(port)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        health = _wait_for_health(f"http://127.0.0.1:{port}/api/v1/health", process)
    finally:
        process.terminate()
        _, stderr = process.communicate(timeout=30)

    assert health.json()["data"]["store"] == {"ok": True, "backend": "sqlite"}
    assert (tmp_path / "home" / "ktrdr.db").exists()
    lines = [json.loads(line) for line in stderr.splitlines() if line.strip()]
    assert any(entry["logger"] == "ktrdr.api.app" for entry in lines)
