"""A worker process SIGKILLed mid-training; PostgreSQL restarted mid-cycle."""

from __future__ import annotations

import os
import re
import signal
from collections.abc import Callable

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families
from reliability.cycles import (
    PostgresCluster,
    assert_artifacts_readable,
    assert_nothing_running,
)
from support.cycles import finished, trigger
from support.eventually import eventually
from support.server import ServerProcess

pytestmark = pytest.mark.slow

WORKER_DIED = re.compile(r"worker process (\d+) died \(killed by signal SIGKILL\)")


def training_epoch(server: ServerProcess) -> Callable[[], str | None]:
    """A probe: the training op id once its first epoch is done."""

    def probe() -> str | None:
        training = server.get("/agent/status").get("training_op_id")
        if training and (server.operation(training)["progress"]["items_done"] or 0) >= 1:
            return training
        return None

    return probe


def test_a_killed_worker_fails_its_job_and_the_cycle_with_the_cause(server: ServerProcess) -> None:
    research_id = trigger(server, strategy="long_eurusd")
    training_id = eventually(training_epoch(server), "training's first epoch", timeout=120)
    pid = server.get("/health")["data"]["executor"]["jobs"][training_id]
    os.kill(pid, signal.SIGKILL)

    research = finished(server, research_id)
    training = server.operation(training_id)

    assert training["status"] == "failed"
    died = WORKER_DIED.search(training["error_message"])
    assert died and int(died.group(1)) == pid, training["error_message"]
    assert research["status"] == "failed"
    assert research["error_message"] == f"Training failed: {training['error_message']}"
    assert server.get("/agent/status")["last_cycle"]["error_message"] == research["error_message"]
    eventually(
        lambda: len(server.get("/health")["data"]["executor"]["worker_pids"]) == 2,
        "the dead worker replaced",
    )

    next_research = finished(server, trigger(server, strategy="quick_eurusd"))
    assert next_research["status"] == "completed", next_research["error_message"]
    assert_artifacts_readable(next_research)
    assert_nothing_running(server)
    metrics = scrape(server)
    assert metrics[("agent_cycles_total", (("outcome", "failed"),))] == 1
    assert metrics[("agent_cycles_total", (("outcome", "completed"),))] == 1
    assert metrics[("ktrdr_operations_total", (("status", "failed"), ("type", "training")))] == 1
    completed_training = (("status", "completed"), ("type", "training"))
    assert metrics[("ktrdr_operations_total", completed_training)] == 1
    backtest_passed = (("gate", "backtest"), ("result", "passed"))
    assert metrics[("agent_gate_results_total", backtest_passed)] == 1


def scrape(server: ServerProcess) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """The server's /metrics as {(name, sorted labels): value}."""
    text = httpx.get(f"{server.url}/metrics", timeout=30).text
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def test_the_cycle_completes_across_a_postgresql_restart(
    postgres_cluster: PostgresCluster, start_server: Callable[..., ServerProcess]
) -> None:
    server = start_server(KTRDR_DATABASE_URL=postgres_cluster.url)
    research_id = trigger(server, strategy="long_eurusd")
    eventually(training_epoch(server), "training's first epoch", timeout=120)

    postgres_cluster.restart()

    research = finished(server, research_id)
    assert research["status"] == "completed", research["error_message"]
    assert_artifacts_readable(research)
    assert_nothing_running(server)
