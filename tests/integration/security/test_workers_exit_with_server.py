"""Finding 9: a SIGKILLed `ktrdr serve` does not leave its worker processes training on."""

from __future__ import annotations

import os
import signal
from pathlib import Path

from support.cycles import write_quick_strategy
from support.eventually import eventually
from support.server import ServerProcess

EXIT_WAIT_SECONDS = 5.0  # the worker's parent check runs every 0.5 s


def is_gone(pid: int) -> bool:
    """True once ``pid`` has exited (reaped, or a zombie nobody reaped yet)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return True
    return stat.rsplit(")", 1)[1].split()[0] in {"Z", "X"}


def test_workers_exit_within_seconds_of_their_server_being_killed(tmp_path: Path):
    home = tmp_path / "home"
    home.mkdir()
    name = write_quick_strategy(home, "endless_eurusd", epochs=5000)
    server = ServerProcess(home).start()
    try:
        response = server.post("/training/start", {"strategy": name})
        assert response.status_code == 202, response.text
        operation_id = response.json()["data"]["operation_id"]
        eventually(
            lambda: server.operation(operation_id)["progress"]["percentage"] >= 5,
            "the training reaches its epochs",
            timeout=120,
        )
        executor = server.get("/health")["data"]["executor"]
        workers = executor["worker_pids"]
        assert executor["jobs"][operation_id] in workers

        os.kill(server.process.pid, signal.SIGKILL)  # the server only, not its process group
        server.process.wait(timeout=30)

        eventually(
            lambda: all(is_gone(pid) for pid in workers),
            f"worker processes {workers} exit after their server was killed",
            timeout=EXIT_WAIT_SECONDS,
        )
    finally:
        server.stop()
