"""The server SIGKILLed (with its workers) at five points of a cycle, then restarted."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from reliability.cycles import (
    assert_artifacts_readable,
    assert_ended_by_the_work,
    assert_nothing_running,
)
from support.cycles import finished, trigger
from support.eventually import eventually
from support.server import ServerProcess

pytestmark = pytest.mark.slow

PHASE_WAIT = 120.0


def in_phase(server: ServerProcess, phase: str) -> Callable[[], bool]:
    return lambda: server.get("/agent/status").get("phase") == phase


def training_at(server: ServerProcess, percentage: float) -> Callable[[], bool]:
    """A probe: the cycle's training is running and at least ``percentage`` done."""

    def probe() -> bool:
        training = server.get("/agent/status").get("training_op_id")
        if not training:
            return False
        operation = server.operation(training)
        done = operation["progress"]["percentage"]
        return operation["status"] == "running" and done >= percentage

    return probe


# point -> (trigger body, the probe that says the point is reached)
POINTS: dict[str, tuple[dict[str, Any], Callable[[ServerProcess], Callable[[], bool]]]] = {
    "designing": ({}, lambda s: in_phase(s, "designing")),
    "early_training": ({"strategy": "long_eurusd"}, lambda s: training_at(s, 5.0)),
    "late_training": ({"strategy": "long_eurusd"}, lambda s: training_at(s, 60.0)),
    "backtesting": ({"strategy": "quick_eurusd"}, lambda s: in_phase(s, "backtesting")),
    "assessing": ({"strategy": "quick_eurusd"}, lambda s: in_phase(s, "assessing")),
}


@pytest.mark.parametrize("point", list(POINTS))
def test_killed_server_restarts_and_the_cycle_completes(server: ServerProcess, point: str) -> None:
    body, reached = POINTS[point]
    research_id = trigger(server, **body)
    eventually(reached(server), f"cycle reaches {point}", timeout=PHASE_WAIT)
    killed_in = server.get("/agent/status")
    server.kill()
    server.start()

    research = finished(server, research_id)

    if point == "designing":  # the designer's strategy may fail a gate: that is the work's verdict
        assert_ended_by_the_work(research)
    else:
        assert research["status"] == "completed", (killed_in, research["error_message"])
    assert_nothing_running(server)
    assert_artifacts_readable(research)
    params = research["metadata"]["parameters"]
    for phase in params.get("restarted_phases", []):
        lost = [
            child
            for child in server.get(f"/operations/{research_id}/children")["data"]
            if child["status"] == "failed"
        ]
        assert lost, f"{phase} restarted without a lost child"
        assert {child["error_message"] for child in lost} == {"lost: server restarted"}
    history = server.get("/agent/history")["experiments"]
    assert history[0]["experiment_id"] == research_id
    assert history[0]["status"] in {"completed", "gate_failed"}
