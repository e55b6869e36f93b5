"""Full research cycles through a real server, real workers, the real training and backtest."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from support.cycles import LENIENT_GATES, finished, trigger, write_quick_strategy
from support.eventually import eventually
from support.server import ServerProcess


@pytest.fixture
def server(tmp_path: Path) -> Iterator[ServerProcess]:
    home = tmp_path / "home"
    home.mkdir()
    write_quick_strategy(home)
    write_quick_strategy(home, "slow_eurusd", epochs=400)
    running = ServerProcess(home).start()
    yield running
    running.stop()


def test_full_cycle_with_real_training_and_backtest(server: ServerProcess) -> None:
    research_id = trigger(server, strategy="quick_eurusd", gates=LENIENT_GATES)
    research = finished(server, research_id)
    assert research["status"] == "completed", research["error_message"]
    params = research["metadata"]["parameters"]

    training = server.operation(params["training_op_id"])
    assert training["operation_type"] == "training" and training["status"] == "completed"
    assert training["parent_operation_id"] == research_id
    assert params["training_result"] == training["result_summary"]
    listed = server.get("/operations", operation_type="training")["data"]
    assert params["training_op_id"] in [op["operation_id"] for op in listed]

    backtest = server.operation(params["backtest_op_id"])
    assert backtest["operation_type"] == "backtesting" and backtest["status"] == "completed"
    assert params["backtest_result"] == backtest["result_summary"]
    assert params["training_gate"] == {"passed": True, "reason": "passed"}
    assert params["backtest_gate"] == {"passed": True, "reason": "passed"}

    assessment = Path(params["assessment_path"])
    assert assessment.is_file() and assessment.parent.name == "quick_eurusd"
    assert params["verdict"] in {"promising", "neutral", "poor"}
    assert Path(research["result_summary"]["trades_path"]).is_file()
    history = server.get("/agent/history")["experiments"]
    assert history[0]["experiment_id"] == research_id and history[0]["status"] == "completed"

    # The walk-forward backtest is the data set's first trial, with its statistics everywhere.
    statistics = research["result_summary"]["statistics"]
    assert statistics == params["statistics"]
    assert (
        statistics["n_trials"] == 1
        and statistics["trades"] == (backtest["result_summary"]["metrics"]["total_trades"])
    )
    assert statistics["bars"] == backtest["result_summary"]["bars"] - 1
    assert statistics["dsr"] == statistics["psr"]  # one trial: nothing to deflate by
    assert params["deterministic_verdict"] in {"promising", "neutral", "poor"}
    assert research["result_summary"]["verdict_reason"] == params["verdict_reason"]
    assert params["verdict"] == params["deterministic_verdict"] or params["verdict"] == "poor"
    (window,) = [
        w
        for w in server.get("/data/windows")["data"]
        if (w["symbol"], w["timeframe"])
        == (
            "EURUSD",
            "1h",
        )
    ]
    assert window["n_trials"] == 1
    assert history[0]["n_trials"] == 1 and history[0]["dsr"] == statistics["dsr"]
    last = server.get("/agent/status")["last_cycle"]
    assert last["statistics"] == statistics and last["verdict_reason"] == params["verdict_reason"]


def test_a_failing_training_gate_fails_the_cycle_with_the_exact_reason(
    server: ServerProcess,
) -> None:
    research_id = trigger(
        server, strategy="quick_eurusd", gates={**LENIENT_GATES, "training_min_accuracy": 0.99}
    )
    research = finished(server, research_id)
    params = research["metadata"]["parameters"]
    accuracy = params["training_result"]["test_metrics"]["test_accuracy"]
    reason = f"accuracy_below_threshold ({accuracy:.1%} < 99.0%)"
    assert research["status"] == "failed"
    assert research["error_message"] == f"Training gate failed: {reason}"
    assert params["training_gate"] == {"passed": False, "reason": reason}
    assert "backtest_op_id" not in params
    assert server.get("/agent/history")["experiments"][0]["status"] == "gate_failed"


def test_cancel_during_training_cancels_the_cycle_the_training_and_frees_the_worker(
    server: ServerProcess,
) -> None:
    research_id = trigger(server, strategy="slow_eurusd", gates=LENIENT_GATES)
    training_id = eventually(
        lambda: server.get("/agent/status").get("training_op_id"), "training started"
    )
    (active,) = server.get("/agent/status")["active_researches"]
    assert active["last_event"]["event"] == "PhaseEntered"
    assert active["last_event"]["phase"] == "training"
    assert active["last_event"]["child_operation_id"] == training_id
    eventually(
        lambda: (server.operation(training_id)["progress"]["context"] or {}).get("epoch"),
        "first epoch done",
        timeout=120,
    )
    response = server.client.delete("/agent/cancel")
    assert response.status_code == 200
    assert set(response.json()["cancelled"]) >= {research_id, training_id}
    eventually(
        lambda: server.get("/health")["data"]["executor"]["busy"] == 0, "worker freed", timeout=5
    )
    assert server.operation(research_id)["status"] == "cancelled"
    assert server.operation(training_id)["status"] == "cancelled"


def test_a_second_trigger_gets_409(server: ServerProcess) -> None:
    first = trigger(server, strategy="slow_eurusd", gates=LENIENT_GATES)
    response = server.post("/agent/trigger", {"strategy": "quick_eurusd"})
    assert response.status_code == 409
    body = response.json()
    assert body["success"] is False
    assert body["reason"] == "active_cycle_exists" and body["operation_id"] == first
    assert body["error"]["code"] == "active_cycle_exists"
    server.client.delete(f"/agent/cancel/{first}")
