"""Finding 8: a training that does not complete leaves no empty ``models/<name>/v<N>`` folder."""

from __future__ import annotations

import os
import signal
from collections.abc import Iterator
from pathlib import Path

import pytest
from support.cycles import write_quick_strategy
from support.eventually import eventually
from support.server import ServerProcess

NAME = "endless_eurusd"
TRAINING_WAIT = 120.0


@pytest.fixture
def server(tmp_path: Path) -> Iterator[ServerProcess]:
    home = tmp_path / "home"
    home.mkdir()
    write_quick_strategy(home, NAME, epochs=5000)
    running = ServerProcess(home).start()
    yield running
    running.stop()


def start_training(server: ServerProcess) -> tuple[str, Path]:
    """Start the endless training and wait until it trains; its id and reserved folder."""
    response = server.post("/training/start", {"strategy": NAME})
    assert response.status_code == 202, response.text
    operation_id = response.json()["data"]["operation_id"]
    eventually(
        lambda: server.operation(operation_id)["progress"]["percentage"] >= 5,
        "the training reaches its epochs",
        timeout=TRAINING_WAIT,
    )
    folder = server.home / "models" / NAME / "v1"
    assert folder.is_dir()
    return operation_id, folder


def test_a_cancelled_training_removes_its_reserved_folder(server: ServerProcess):
    operation_id, folder = start_training(server)

    assert server.client.delete(f"/operations/{operation_id}").status_code == 200

    eventually(lambda: server.operation(operation_id)["status"] == "cancelled", "cancelled")
    eventually(lambda: not folder.exists(), f"{folder} removed after the cancellation")


def test_a_training_whose_worker_is_killed_removes_its_reserved_folder(server: ServerProcess):
    operation_id, folder = start_training(server)
    worker = server.get("/health")["data"]["executor"]["jobs"][operation_id]

    os.kill(worker, signal.SIGKILL)

    eventually(lambda: server.operation(operation_id)["status"] == "failed", "failed as lost")
    eventually(lambda: not folder.exists(), f"{folder} removed after the worker died")


def test_a_training_lost_with_its_server_has_its_folder_removed_at_restart(
    server: ServerProcess,
):
    operation_id, folder = start_training(server)

    server.kill()
    assert folder.is_dir()
    server.start()

    assert server.operation(operation_id)["status"] == "failed"
    assert not folder.exists()
    assert folder.parent.is_dir()  # the model's folder stays for its next version
