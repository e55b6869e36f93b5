"""Trigger checks (provider, key, model, budget), the budget ledger, GET /agent/budget."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from support.fake_llm import EXAMPLE
from support.server import LOOPBACK

from ktrdr.agents.cycle import CycleEvents
from ktrdr.agents.llm.budget import BudgetLedger
from ktrdr.agents.memory import ExperimentMemory
from ktrdr.agents.service import AgentService
from ktrdr.api import build_services, create_app
from ktrdr.errors import BudgetExhaustedError
from ktrdr.settings import Settings
from ktrdr.strategy import load_strategy, save_strategy

SONNET = "claude-sonnet-5-5"


class IdleWorker:
    """Stands in for the orchestrator: the trigger's checks are what is under test."""

    def __init__(self, memory: ExperimentMemory) -> None:
        self.memory = memory
        self.events = CycleEvents()
        self.started: list[str] = []

    def run(self, operation_id: str, stop: threading.Event) -> None:
        self.started.append(operation_id)


@pytest.fixture
def make_app(tmp_path: Path) -> Iterator:
    built = []

    def make(**values: object) -> tuple[TestClient, AgentService]:
        defaults = {"anthropic_api_key": None, "openai_api_key": None, "agent_model": None}
        settings = Settings(
            home=tmp_path / "home", database_url=None, api_token=None, **{**defaults, **values}
        )
        services = build_services(settings, with_executor=False)
        worker = IdleWorker(ExperimentMemory(services.operations.store.engine))
        services.agent = AgentService(
            services.operations, worker, settings=settings, strategies=services.strategies
        )
        client = TestClient(create_app(settings, services=services), base_url=LOOPBACK)
        built.append(services)
        return client, services.agent

    yield make
    for services in built:
        services.close()


def spend(ledger: BudgetLedger, cost: float, operation_id: str = "op_d1", purpose: str = "design"):
    ledger.record(
        operation_id=operation_id,
        research_id="op_r1",
        purpose=purpose,
        provider="anthropic",
        model=SONNET,
        input_tokens=1000,
        output_tokens=100,
        cost_usd=cost,
    )


def test_an_llm_designer_needs_its_api_key(make_app) -> None:
    client, _ = make_app()

    response = client.post("/api/v1/agent/trigger", json={"designer": "anthropic"})

    assert response.status_code == 422
    assert "set ANTHROPIC_API_KEY" in response.json()["error"]["message"]


def test_an_openai_assessor_needs_its_api_key(make_app) -> None:
    client, _ = make_app(anthropic_api_key="k")

    response = client.post(
        "/api/v1/agent/trigger", json={"designer": "anthropic", "assessor": "openai"}
    )

    assert response.status_code == 422
    assert "set OPENAI_API_KEY" in response.json()["error"]["message"]


def test_an_unknown_model_is_refused_at_trigger(make_app) -> None:
    client, _ = make_app(anthropic_api_key="k")

    response = client.post(
        "/api/v1/agent/trigger", json={"designer": "anthropic", "model": "claude-9"}
    )

    assert response.status_code == 422
    assert "model 'claude-9' is unknown" in response.json()["error"]["message"]


def test_an_unknown_designer_is_refused(make_app) -> None:
    client, _ = make_app()

    response = client.post("/api/v1/agent/trigger", json={"designer": "gemini"})

    assert response.status_code == 422
    assert "offline, anthropic, openai" in response.json()["error"]["message"]


def test_aliases_resolve_and_the_trigger_model_wins(make_app) -> None:
    _, agent = make_app(anthropic_api_key="k", agent_model="haiku")

    first = agent.trigger(designer="anthropic", assessor="anthropic", model="opus")
    params = agent.operations.get(first["operation_id"]).metadata.parameters
    assert params["llm_model"] == "claude-opus-5-5"
    assert params["assessor_model"] == "claude-opus-5-5"


def test_the_default_model_comes_from_the_settings(make_app) -> None:
    _, agent = make_app(anthropic_api_key="k", openai_api_key="k", agent_model="haiku")

    started = agent.trigger(designer="anthropic", assessor="openai")

    params = agent.operations.get(started["operation_id"]).metadata.parameters
    assert params["llm_model"] == "claude-haiku-4-5"
    assert params["assessor_model"] == "gpt-5.4"


def test_offline_needs_no_key_and_stores_no_model(make_app) -> None:
    _, agent = make_app()

    started = agent.trigger()

    params = agent.operations.get(started["operation_id"]).metadata.parameters
    assert params["designer"] == "offline" and params["llm_model"] is None


def test_a_trigger_beyond_the_budget_is_a_409(make_app) -> None:
    client, agent = make_app(anthropic_api_key="k", agent_daily_budget=0.05)
    spend(agent.ledger, 0.04)

    response = client.post("/api/v1/agent/trigger", json={"designer": "anthropic"})

    assert response.status_code == 409
    body = response.json()
    assert body["reason"] == "budget_exhausted" and body["triggered"] is False
    assert body["error"]["details"]["remaining_usd"] == pytest.approx(0.01)


def test_the_budget_does_not_stop_offline_cycles(make_app) -> None:
    client, agent = make_app(agent_daily_budget=0.05)
    spend(agent.ledger, 0.05)

    assert client.post("/api/v1/agent/trigger", json={}).status_code == 202


def test_the_estimate_follows_recent_cycles_of_the_model(make_app) -> None:
    _, agent = make_app(anthropic_api_key="k", agent_daily_budget=1.0)
    spend(agent.ledger, 0.01, "op_d1")
    spend(agent.ledger, 0.02, "op_d1")
    spend(agent.ledger, 0.05, "op_d2")

    assert agent.ledger.estimate_phase("design", SONNET) == pytest.approx(0.04)
    started = agent.trigger(designer="anthropic", assessor="offline")
    assert started["triggered"] is True


def test_without_history_the_estimate_uses_the_price_table(make_app) -> None:
    _, agent = make_app()

    # 30 000 in x $2 + 6 000 out x $10 per million = 0.06 + 0.06
    assert agent.ledger.estimate_phase("design", SONNET) == pytest.approx(0.12)


def test_get_budget_shows_limit_spent_remaining_and_cycles(make_app) -> None:
    client, agent = make_app(
        anthropic_api_key="k",
        agent_daily_budget=1.0,
        agent_designer="anthropic",
        agent_assessor="anthropic",
    )
    spend(agent.ledger, 0.1, "op_d1", "design")
    spend(agent.ledger, 0.1, "op_a1", "assessment")

    body = client.get("/api/v1/agent/budget").json()

    assert body["daily_limit_usd"] == 1.0
    assert body["spent_today_usd"] == pytest.approx(0.2)
    assert body["remaining_usd"] == pytest.approx(0.8)
    assert body["estimated_cycle_usd"] == pytest.approx(0.2)
    assert body["cycles_affordable"] == 4
    assert body["models"] == {"design": SONNET, "assessment": SONNET}


def test_get_budget_without_a_limit_is_unlimited(make_app) -> None:
    client, _ = make_app()

    body = client.get("/api/v1/agent/budget").json()

    assert body["daily_limit_usd"] is None and body["cycles_affordable"] is None
    assert body["spent_today_usd"] == 0.0


def test_a_budget_error_names_what_to_do(make_app) -> None:
    _, agent = make_app(anthropic_api_key="k", agent_daily_budget=0.01)

    with pytest.raises(BudgetExhaustedError, match="KTRDR_AGENT_DAILY_BUDGET"):
        agent.trigger(designer="anthropic")


def test_a_user_strategy_with_an_llm_designer_needs_no_designer_key(
    make_app, tmp_path: Path
) -> None:
    _, agent = make_app()
    save_strategy(load_strategy(EXAMPLE), tmp_path / "home" / "strategies")

    started = agent.trigger(designer="anthropic", strategy="eurusd_rsi_macd_mlp")

    params = agent.operations.get(started["operation_id"]).metadata.parameters
    assert params["designer"] == "user" and params["llm_model"] is None


def test_the_trigger_names_the_market_to_design_for(make_app) -> None:
    client, agent = make_app()

    response = client.post("/api/v1/agent/trigger", json={"symbol": "eurusd", "timeframe": "1H"})

    assert response.status_code == 202
    research = agent.operations.get(response.json()["operation_id"])
    assert (research.metadata.symbol, research.metadata.timeframe) == ("EURUSD", "1h")
    params = research.metadata.parameters
    assert (params["symbol"], params["timeframe"]) == ("EURUSD", "1h")


@pytest.mark.parametrize(
    ("body", "status", "words"),
    [
        ({"symbol": "BTC-USDT", "timeframe": "1h"}, 404, "BTC-USDT"),
        ({"symbol": "EURUSD"}, 422, "timeframe is needed with symbol"),
        ({"symbol": "EURUSD", "timeframe": "1h", "strategy": "x"}, 422, "brings its own"),
    ],
)
def test_a_market_without_data_or_half_named_starts_nothing(
    make_app, body: dict, status: int, words: str
) -> None:
    client, agent = make_app()

    response = client.post("/api/v1/agent/trigger", json=body)

    assert response.status_code == status, response.json()
    assert words in response.json()["error"]["message"]
    assert agent.active() == []
