"""Research cycles on a real two-node Ray cluster with the PostgreSQL store.

The worker node alone offers ``ktrdr_worker``, and the server asks every Ray job for it, so
training and backtests must run there; designers and assessors run on the server's own pool.
The node-kill test stops the worker node, so it comes last.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from integration.agent_tests.test_research_cycle import (
    LENIENT_GATES,
    finished,
    trigger,
    write_quick_strategy,
)
from integration.cluster.conftest import WORKER_RESOURCE, RayCluster
from support.eventually import eventually
from support.server import ServerProcess

pytestmark = [pytest.mark.slow, pytest.mark.postgres]


@pytest.fixture
def server(tmp_path: Path, ray_cluster: RayCluster, postgres_url: str) -> Iterator[ServerProcess]:
    home = tmp_path / "home"
    home.mkdir()
    write_quick_strategy(home, epochs=2)
    write_quick_strategy(home, "slow_eurusd", epochs=400)
    env = ray_cluster.server_env(postgres_url, KTRDR_AGENT_MAX_CONCURRENT_RESEARCHES="3")
    running = ServerProcess(home, **env).start()
    yield running
    running.stop()


def first_epoch(server: ServerProcess) -> str:
    training_id = eventually(
        lambda: server.get("/agent/status").get("training_op_id"), "training submitted"
    )
    eventually(
        lambda: (server.operation(training_id)["progress"]["context"] or {}).get("epoch"),
        "first epoch done",
        timeout=90,
    )
    return training_id


def test_a_full_cycle_trains_and_backtests_on_the_worker_node(
    server: ServerProcess, ray_cluster: RayCluster
) -> None:
    health = server.get("/health")["data"]["executor"]
    assert health["kind"] == "ray" and len(health["nodes"]) == 2
    research_id = trigger(server, strategy="quick_eurusd", gates=LENIENT_GATES)
    research = finished(server, research_id)
    assert research["status"] == "completed", research["error_message"]
    params = research["metadata"]["parameters"]
    worker_node = ray_cluster.worker_node()["node_id"]

    training = server.operation(params["training_op_id"])["result_summary"]
    assert params["training_result"] == training
    assert training["execution"] == {"executor": "ray", "node": worker_node, "device": "cpu"}
    bundle = Path(training["model_path"])
    assert bundle.parent == server.home / "models" / "quick_eurusd"
    assert {p.name for p in bundle.iterdir()} == {"bundle.json", "weights.safetensors", "folds"}
    folds = training["walk_forward"]["folds"]
    assert sorted(p.name for p in (bundle / "folds").iterdir()) == [str(f["fold"]) for f in folds]
    for fold in folds:
        fold_files = {p.name for p in (bundle / "folds" / str(fold["fold"])).iterdir()}
        assert fold_files == {"bundle.json", "weights.safetensors"}

    backtest = server.operation(params["backtest_op_id"])["result_summary"]
    assert backtest["execution"] == {"executor": "ray", "node": worker_node, "device": "cpu"}
    for path in backtest["artifacts"].values():
        assert (
            Path(path).is_file()
            and Path(path).parent == server.home / "backtests" / (params["backtest_op_id"])
        )

    assessment = server.operation(params["assessment_op_id"])["result_summary"]
    assert assessment["execution"]["executor"] == "local"  # it writes into KTRDR_HOME
    assert Path(params["assessment_path"]).is_file()


def test_cancel_during_training_stops_the_ray_task(server: ServerProcess) -> None:
    research_id = trigger(server, strategy="slow_eurusd", gates=LENIENT_GATES)
    training_id = first_epoch(server)

    response = server.client.delete(f"/agent/cancel/{research_id}")
    assert response.status_code == 200
    assert set(response.json()["cancelled"]) >= {research_id, training_id}
    eventually(
        lambda: (
            (health := server.get("/health")["data"]["executor"])["busy"] == 0
            and health["available"].get(WORKER_RESOURCE) == 2
        ),
        "the Ray task ended and gave its resources back",
        timeout=30,
    )
    training = server.operation(training_id)
    assert training["status"] == "cancelled"
    assert server.operation(research_id)["status"] == "cancelled"
    epochs = training["progress"]["context"]["epoch"]
    assert epochs < 400


def test_three_concurrent_cycles_all_complete_on_the_cluster(
    server: ServerProcess, ray_cluster: RayCluster
) -> None:
    research_ids = [
        trigger(server, strategy="quick_eurusd", gates=LENIENT_GATES, seed=seed)
        for seed in (1, 2, 3)
    ]
    status = server.get("/agent/status")
    assert {r["operation_id"] for r in status["active_researches"]} == set(research_ids)
    refused = server.post("/agent/trigger", {"strategy": "quick_eurusd"})
    assert refused.status_code == 409
    assert refused.json()["reason"] == "active_cycle_exists"

    researches = [finished(server, research_id) for research_id in research_ids]
    assert [r["status"] for r in researches] == ["completed"] * 3, [
        r["error_message"] for r in researches
    ]
    worker_node = ray_cluster.worker_node()["node_id"]
    models = set()
    for research in researches:
        params = research["metadata"]["parameters"]
        for key in ("training_result", "backtest_result"):
            assert params[key]["execution"]["node"] == worker_node
        models.add(params["training_result"]["model_path"])
    assert len(models) == 3  # each training got its own bundle version
    assert server.get("/agent/status")["active_researches"] == []


def test_killing_the_worker_node_fails_the_job_with_the_node_named(
    server: ServerProcess, ray_cluster: RayCluster
) -> None:
    worker_node = ray_cluster.worker_node()
    research_id = trigger(server, strategy="slow_eurusd", gates=LENIENT_GATES)
    training_id = first_epoch(server)

    ray_cluster.kill_worker()

    training = eventually(
        lambda: (op := server.operation(training_id))["status"] == "failed" and op,
        "training failed after its node died",
        timeout=90,
    )
    message = training["error_message"]
    assert message == (
        f"lost with Ray node {worker_node['node_id']} ({worker_node['address']}): "
        "the node died while running the job (NodeDiedError)"
    )
    research = finished(server, research_id)
    assert research["status"] == "failed"
    assert research["error_message"] == f"Training failed: {message}"
