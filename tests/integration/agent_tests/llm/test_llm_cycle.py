"""Full research cycles with --designer anthropic --assessor anthropic against a fake Anthropic
server: a real `ktrdr serve`, real worker processes, the real training and backtest."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from support.cycles import CYCLE_TIMEOUT, LENIENT_GATES
from support.eventually import eventually
from support.fake_llm import ASSESSMENT_INPUT, FakeLLMServer, Reply, ToolUse, tool_names
from support.fake_llm import quick_strategy as strategy_input
from support.server import ServerProcess

from ktrdr.evaluation import lower_verdict

MAX_TURNS = 2


def designs(strategy: dict[str, Any]):
    """A responder: ``strategy`` for the designer, the standard judgement for the assessor."""

    def respond(body: dict[str, Any]) -> Reply:
        if "save_assessment" in tool_names(body):
            return ToolUse("save_assessment", ASSESSMENT_INPUT, 3000, 500)
        return ToolUse("save_strategy_config", strategy, 8000, 1500)

    return respond


@pytest.fixture(scope="module")
def fake() -> Iterator[FakeLLMServer]:
    with FakeLLMServer(designs(strategy_input())) as server:
        yield server


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory, fake: FakeLLMServer) -> Iterator:
    home = tmp_path_factory.mktemp("llm_cycle_home")
    running = ServerProcess(
        home,
        ANTHROPIC_API_KEY="test",
        ANTHROPIC_BASE_URL=fake.url,
        KTRDR_AGENT_MAX_TURNS=str(MAX_TURNS),
    ).start()
    yield running
    running.stop()


def run_cycle(server: ServerProcess) -> dict[str, Any]:
    response = server.post(
        "/agent/trigger",
        {"designer": "anthropic", "assessor": "anthropic", "gates": LENIENT_GATES},
    )
    assert response.status_code == 202, response.text
    operation_id = response.json()["operation_id"]
    return eventually(
        lambda: (
            (op := server.operation(operation_id))["status"] in {"completed", "failed", "cancelled"}
            and op
        ),
        f"research {operation_id} ends",
        timeout=CYCLE_TIMEOUT,
    )


def test_a_full_anthropic_cycle_designs_trains_backtests_and_assesses(
    server: ServerProcess, fake: FakeLLMServer
) -> None:
    fake.responder = designs(strategy_input("llm_cycle_eurusd"))

    research = run_cycle(server)

    assert research["status"] == "completed", research["error_message"]
    params = research["metadata"]["parameters"]
    design = server.operation(params["design_op_id"])["result_summary"]
    assessment_op = server.operation(params["assessment_op_id"])["result_summary"]
    assert design["strategy_name"] == "llm_cycle_eurusd"
    assert design["llm_model"] == params["llm_model"] == "claude-sonnet-5-5"
    assert design["tokens"] == {"input": 8000, "output": 1500}
    assert assessment_op["tokens"] == {"input": 3000, "output": 500}
    assert params["tokens"] == {"input": 11000, "output": 2000}
    # Sonnet 5.5: $2 / $10 per million tokens
    assert params["cost_usd"] == pytest.approx((11000 * 2 + 2000 * 10) / 1e6)
    assert research["result_summary"]["cost_usd"] == params["cost_usd"]
    assert server.operation(params["training_op_id"])["status"] == "completed"
    assert server.operation(params["backtest_op_id"])["status"] == "completed"
    written = json.loads(Path(params["assessment_path"]).read_text())
    # The stand-in judges "neutral"; the deterministic verdict is the ceiling it cannot raise.
    assert written["assessor"] == "anthropic" and written["assessor_verdict"] == "neutral"
    expected = lower_verdict(params["deterministic_verdict"], "neutral")
    assert written["verdict"] == params["verdict"] == expected
    assert written["verdict_reason"] == params["verdict_reason"]
    budget = server.get("/agent/budget")
    assert budget["spent_today_usd"] >= params["cost_usd"]
    history = server.get("/agent/history")["experiments"]
    assert history[0]["experiment_id"] == research["operation_id"]
    assert history[0]["designer"] == "anthropic"


def test_a_designer_that_never_gets_it_right_fails_the_cycle(
    server: ServerProcess, fake: FakeLLMServer
) -> None:
    broken = strategy_input("llm_broken")
    broken["model"]["lookback"] = 0
    fake.responder = designs(broken)

    research = run_cycle(server)

    assert research["status"] == "failed"
    assert research["error_message"].startswith(
        f"Design failed: no valid strategy after {MAX_TURNS} attempts: model.lookback"
    )
