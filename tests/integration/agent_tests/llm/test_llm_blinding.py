"""A full LLM-designed cycle against the stand-in LLM server, through the real SDK clients: no
prompt or tool schema names the real symbol, a calendar date or year, or a holdout figure.

The memory is seeded with an experiment whose stored metrics carry a ``holdout`` block with
distinctive numbers, and with a single-window experiment; neither number may reach a prompt.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from support.cycles import CYCLE_TIMEOUT, LENIENT_GATES, TERMINAL
from support.eventually import eventually
from support.fake_llm import ASSESSMENT_INPUT, FakeLLMServer, Reply, ToolUse, tool_names
from support.fake_llm import quick_strategy as strategy_input
from support.server import ServerProcess

from ktrdr.agents.memory import SINGLE_WINDOW, ExperimentMemory, ExperimentRecord
from ktrdr.data import DataRepository, DataWindows
from ktrdr.operations import OperationsStore

HOLDOUT_SHARPE = "9.8765"
HOLDOUT_ACCURACY = "0.9876"
SINGLE_WINDOW_SHARPE = "4.8123"
ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
YEAR = re.compile(r"(?<![0-9.])(?:19|20)\d{2}(?![0-9])")


def blind_strategy() -> dict[str, Any]:
    """What a blinded model writes: the alias, no date range, no backtest range."""
    strategy = strategy_input("llm_blind_cycle")
    strategy["training_data"] = {
        "symbols": {"mode": "single", "symbol": "ASSET_1"},
        "timeframes": {"mode": "single", "timeframe": "1h"},
    }
    strategy.pop("backtest", None)
    return strategy


def respond(body: dict[str, Any]) -> Reply:
    if "save_assessment" in tool_names(body):
        return ToolUse("save_assessment", ASSESSMENT_INPUT)
    return ToolUse("save_strategy_config", blind_strategy())


def seed_memory(home: Path) -> None:
    """A walk-forward experiment carrying a holdout block, and an old single-window one."""
    home.mkdir(parents=True, exist_ok=True)
    store = OperationsStore.from_url(f"sqlite:///{home / 'ktrdr.db'}")
    memory = ExperimentMemory(store.engine)
    memory.record(
        ExperimentRecord(
            experiment_id="op_agent_research_20260101_000001_00000001",
            created_at=datetime(2026, 1, 1, 0, 0, 1, tzinfo=UTC),
            strategy_name="offline_eurusd_1h_t0004",
            designer="offline",
            status="completed",
            strategy=strategy_input("offline_eurusd_1h_t0004"),  # the same data set: shown
            training_metrics={
                "test_accuracy": 0.41,
                "holdout": {"test_accuracy": float(HOLDOUT_ACCURACY)},
            },
            backtest_metrics={
                "sharpe_ratio": 0.37,
                "total_trades": 31,
                "holdout": {"sharpe_ratio": float(HOLDOUT_SHARPE), "start_date": "2018-01-01"},
            },
            verdict="neutral",
        )
    )
    memory.record(
        ExperimentRecord(
            experiment_id="op_agent_research_20250101_000001_00000002",
            created_at=datetime(2025, 1, 1, tzinfo=UTC),
            strategy_name="old_single_window_design",
            designer="offline",
            status="completed",
            backtest_metrics={"sharpe_ratio": float(SINGLE_WINDOW_SHARPE)},
            verdict="promising",
            protocol=SINGLE_WINDOW,
        )
    )
    store.dispose()


@pytest.fixture(scope="module")
def fake() -> Iterator[FakeLLMServer]:
    with FakeLLMServer(respond) as server:
        yield server


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory, fake: FakeLLMServer) -> Iterator:
    home = tmp_path_factory.mktemp("llm_blind_home")
    seed_memory(home)
    running = ServerProcess(
        home, ANTHROPIC_API_KEY="test", ANTHROPIC_BASE_URL=fake.url, KTRDR_AGENT_MAX_TURNS="2"
    ).start()
    yield running
    running.stop()


def texts(value: Any) -> list[str]:
    """Every string a request body carries (messages, system prompt, tool schema)."""
    if isinstance(value, dict):
        return [text for item in value.values() for text in texts(item)]
    if isinstance(value, list):
        return [text for item in value for text in texts(item)]
    return [value] if isinstance(value, str) else []


def test_no_prompt_of_a_blind_cycle_leaks_the_market_a_date_or_the_holdout(
    server: ServerProcess, fake: FakeLLMServer
) -> None:
    response = server.post(
        "/agent/trigger",
        {"designer": "anthropic", "assessor": "anthropic", "gates": LENIENT_GATES},
    )
    assert response.status_code == 202, response.text
    operation_id = response.json()["operation_id"]
    research = eventually(
        lambda: (op := server.operation(operation_id))["status"] in TERMINAL and op,
        f"research {operation_id} ends",
        timeout=CYCLE_TIMEOUT,
    )

    assert research["status"] == "completed", research["error_message"]
    purposes = [
        "assessment" if "save_assessment" in tool_names(r.body) else "design" for r in fake.requests
    ]
    assert purposes == ["design", "assessment"]
    store = OperationsStore.from_url(f"sqlite:///{server.home / 'ktrdr.db'}")
    try:
        windows = DataWindows(
            store.engine, DataRepository(server.home / "data"), holdout_fraction=0.2
        )
        holdout_start = windows.get("EURUSD", "1h").holdout_start
    finally:
        store.dispose()
    for request in fake.requests:
        sent = "\n".join(texts(request.body))
        assert "eurusd" not in sent.lower()
        assert ISO_DATE.search(sent) is None, ISO_DATE.search(sent)
        late_years = [y for y in YEAR.findall(sent) if int(y) >= holdout_start.year]
        assert late_years == []
        for figure in (HOLDOUT_SHARPE, HOLDOUT_ACCURACY, SINGLE_WINDOW_SHARPE):
            assert figure not in sent
    design_prompt = "\n".join(texts(fake.requests[0].body["messages"]))
    assert "offline_ASSET_1_1h_t0004" in design_prompt and "sharpe_ratio 0.37" in design_prompt
    params = research["metadata"]["parameters"]
    designed = server.operation(params["design_op_id"])["result_summary"]
    saved = (server.home / "strategies" / f"{designed['strategy_name']}.yaml").read_text()
    assert "symbol: EURUSD" in saved
    history = server.get("/agent/history")["experiments"]
    assert {row["protocol"] for row in history} == {"walk_forward", "single_window"}
