"""The LLM designer through the real SDK clients against a fake server: turns, errors, retries."""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime

import pytest
from sqlalchemy import select
from support.eventually import eventually
from support.fake_llm import Failure, FakeLLMServer, Hang, Text, ToolUse, last_tool_result
from support.fake_llm import quick_strategy as strategy_input

from ktrdr.agents.memory import SINGLE_WINDOW, ExperimentMemory, ExperimentRecord
from ktrdr.agents.workers import DESIGN_JOB
from ktrdr.execution import JobSpec
from ktrdr.execution.worker import run_job
from ktrdr.operations import OperationsService, OperationStatus, OperationType
from ktrdr.operations.schema import llm_spend
from ktrdr.strategy import load_strategy

PROVIDERS = ["anthropic", "openai"]
DEFAULT_MODEL = {"anthropic": "claude-sonnet-5-5", "openai": "gpt-5.4"}
PRICE = {"claude-sonnet-5-5": (2.0, 10.0), "gpt-5.4": (2.5, 15.0)}
ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
HOLDOUT_START = "2017-12-08"  # the EURUSD 1h sample's sealed last 20 %
RESEARCH_WINDOW = ("2017-04-19", "2017-12-07")


def blind_input(name: str = "llm_blind_rsi") -> dict:
    """The quick strategy as a blinded model writes it: the alias and no date range."""
    strategy = strategy_input(name)
    strategy["training_data"] = {
        "symbols": {"mode": "single", "symbol": "ASSET_1"},
        "timeframes": {"mode": "single", "timeframe": "1h"},
    }
    strategy.pop("backtest", None)
    return strategy


def cost(model: str, calls: list[tuple[int, int]]) -> float:
    price_in, price_out = PRICE[model]
    return sum(i * price_in + o * price_out for i, o in calls) / 1e6


def design(operations: OperationsService, child: str, provider: str, **request: object) -> str:
    """Run the design job as a worker does; the outcome (completed, failed, cancelled)."""
    request = {"designer": provider, "brief": "EURUSD", **request}
    return run_job(JobSpec(operation_id=child, job=DESIGN_JOB, request=request), operations)


def save(strategy: dict) -> ToolUse:
    return ToolUse("save_strategy_config", strategy)


@pytest.mark.parametrize("provider", PROVIDERS)
def test_a_valid_strategy_on_the_first_turn_is_saved_with_its_cost(
    provider, fake_llm, llm_env, operations, child_of_research, ktrdr_home
) -> None:
    server = fake_llm([save(strategy_input())])
    llm_env(server)
    research, child = child_of_research(OperationType.AGENT_DESIGN)

    assert design(operations, child, provider) == "completed"

    result = operations.get(child).result_summary
    model = DEFAULT_MODEL[provider]
    assert result["strategy_name"] == "llm_eurusd_rsi"
    assert result["designer"] == provider and result["llm_model"] == model
    assert result["tokens"] == {"input": 1200, "output": 300}
    assert result["cost_usd"] == pytest.approx(cost(model, [(1200, 300)]))
    saved = load_strategy(result["strategy_path"])
    assert saved.model.architecture.hidden_layers == [8]
    assert result["strategy_path"] == str(ktrdr_home / "strategies" / "llm_eurusd_rsi.yaml")
    with operations.store.engine.connect() as conn:
        rows = conn.execute(select(llm_spend)).mappings().all()
    assert [(r["operation_id"], r["research_id"], r["purpose"], r["model"]) for r in rows] == [
        (child, research, "design", model)
    ]


@pytest.mark.parametrize("provider", PROVIDERS)
def test_the_prompt_gives_format_catalogue_data_brief_and_one_tool(
    provider, fake_llm, llm_env, operations, child_of_research
) -> None:
    server = fake_llm([save(strategy_input())])
    llm_env(server)
    _, child = child_of_research(OperationType.AGENT_DESIGN)

    design(operations, child, provider, brief="mean reversion on EURUSD")

    body = server.requests[0].body
    prompt = str(body["messages"])
    assert "ASSET_1 1h: research window of 4000 bars" in prompt
    assert "the first 2000 bars" in prompt
    assert "macd: fast_period:int=12 [2..200]" in prompt
    assert "mean reversion on ASSET_1" in prompt
    assert "No experiments yet." in prompt
    tool = body["tools"][0]
    schema = tool["input_schema"] if provider == "anthropic" else tool["function"]["parameters"]
    assert {"training_data", "indicators", "nn_inputs", "model"} <= set(schema["required"])


@pytest.mark.parametrize("provider", PROVIDERS)
def test_an_invalid_strategy_goes_back_with_its_error_paths_and_is_corrected(
    provider, fake_llm, llm_env, operations, child_of_research
) -> None:
    broken = strategy_input()
    broken["fuzzy_sets"]["rsi_zone"]["oversold"] = {"type": "gaussian", "parameters": [1, 2, 3]}
    server = fake_llm([save(broken), save(strategy_input())])
    llm_env(server)
    _, child = child_of_research(OperationType.AGENT_DESIGN)

    assert design(operations, child, provider) == "completed"

    assert len(server.requests) == 2
    feedback = last_tool_result(server.requests[1].body)
    assert "fuzzy_sets.rsi_zone.oversold" in feedback
    assert "gaussian takes 2 parameters" in feedback
    result = operations.get(child).result_summary
    assert result["tokens"] == {"input": 2400, "output": 600}


def test_a_strategy_on_missing_data_is_refused_naming_the_data(
    fake_llm, llm_env, operations, child_of_research
) -> None:
    elsewhere = strategy_input()
    elsewhere["training_data"]["symbols"] = {"mode": "single", "symbol": "DOGEUSD"}
    server = fake_llm([save(elsewhere), save(strategy_input())])
    llm_env(server)
    _, child = child_of_research(OperationType.AGENT_DESIGN)

    assert design(operations, child, "anthropic") == "completed"

    feedback = last_tool_result(server.requests[1].body)
    assert "training_data" in feedback and "DOGEUSD" in feedback


@pytest.mark.parametrize("provider", PROVIDERS)
def test_never_valid_fails_the_design_with_the_last_errors(
    provider, fake_llm, llm_env, operations, child_of_research
) -> None:
    broken = strategy_input()
    broken["model"]["lookback"] = 0
    server = fake_llm(lambda _body: save(broken))
    llm_env(server, KTRDR_AGENT_MAX_TURNS="3")
    _, child = child_of_research(OperationType.AGENT_DESIGN)

    assert design(operations, child, provider) == "failed"

    message = operations.get(child).error_message
    assert message.startswith("no valid strategy after 3 attempts: model.lookback")
    assert len(server.requests) == 3


def test_a_text_answer_is_asked_to_call_the_tool(
    fake_llm, llm_env, operations, child_of_research
) -> None:
    server = fake_llm([Text("Let me think."), save(strategy_input())])
    llm_env(server)
    _, child = child_of_research(OperationType.AGENT_DESIGN)

    assert design(operations, child, "anthropic") == "completed"
    assert server.requests[1].body["messages"][-1] == {
        "role": "user",
        "content": "Call the save_strategy_config tool now.",
    }


@pytest.mark.parametrize("provider", PROVIDERS)
@pytest.mark.parametrize("status", [429, 529, 500])
def test_rate_limits_overload_and_5xx_are_retried(
    provider, status, fake_llm, llm_env, operations, child_of_research
) -> None:
    server = fake_llm([Failure(status), save(strategy_input())])
    llm_env(server)
    _, child = child_of_research(OperationType.AGENT_DESIGN)

    assert design(operations, child, provider) == "completed"

    assert len(server.requests) == 2
    assert operations.get(child).result_summary["tokens"] == {"input": 1200, "output": 300}


def test_a_refused_key_fails_at_once_naming_the_variable(
    fake_llm, llm_env, operations, child_of_research
) -> None:
    server = fake_llm([Failure(401), save(strategy_input())])
    llm_env(server)
    _, child = child_of_research(OperationType.AGENT_DESIGN)

    assert design(operations, child, "anthropic") == "failed"

    assert "HTTP 401" in operations.get(child).error_message
    assert "ANTHROPIC_API_KEY" in operations.get(child).error_message
    assert len(server.requests) == 1


def test_retries_give_up_after_the_configured_number(
    fake_llm, llm_env, operations, child_of_research
) -> None:
    server = fake_llm(lambda _body: Failure(529))
    llm_env(server, KTRDR_LLM_MAX_RETRIES="2")
    _, child = child_of_research(OperationType.AGENT_DESIGN)

    assert design(operations, child, "anthropic") == "failed"

    assert "gave up after 3 attempts" in operations.get(child).error_message
    assert len(server.requests) == 3


@pytest.mark.parametrize("provider", PROVIDERS)
def test_cancelling_interrupts_a_hung_call_within_a_second(
    provider, fake_llm, llm_env, operations, child_of_research
) -> None:
    server = fake_llm([Hang(60)])
    llm_env(server)
    _, child = child_of_research(OperationType.AGENT_DESIGN)
    outcome: list[str] = []
    runner = threading.Thread(target=lambda: outcome.append(design(operations, child, provider)))
    runner.start()
    eventually(lambda: server.requests, "the model call is in flight")

    operations.cancel(child, "cancelled by user")
    cancelled_at = time.monotonic()
    runner.join(timeout=10)

    assert time.monotonic() - cancelled_at < 1.0
    assert outcome == ["cancelled"]
    assert operations.get(child).status is OperationStatus.CANCELLED


def test_the_replay_cache_answers_a_repeated_request_without_http(
    fake_llm, llm_env, operations, child_of_research
) -> None:
    server = fake_llm([save(strategy_input())])
    llm_env(server, KTRDR_LLM_CACHE="1")
    _, first = child_of_research(OperationType.AGENT_DESIGN)
    _, second = child_of_research(OperationType.AGENT_DESIGN)

    assert design(operations, first, "anthropic") == "completed"
    assert design(operations, second, "anthropic") == "completed"

    assert len(server.requests) == 1
    replayed = operations.get(second).result_summary
    original = operations.get(first).result_summary
    assert replayed["strategy_path"] == original["strategy_path"]
    assert replayed["tokens"] == {"input": 0, "output": 0} and replayed["cost_usd"] == 0.0
    assert replayed["design"]["cache_hits"] == 1


def test_a_taken_name_gets_a_suffix_instead_of_overwriting(
    fake_llm: Callable[..., FakeLLMServer], llm_env, operations, child_of_research, ktrdr_home
) -> None:
    other = strategy_input()
    other["decisions"]["confidence_threshold"] = 0.6
    server = fake_llm([save(other), save(strategy_input())])
    llm_env(server)
    _, first = child_of_research(OperationType.AGENT_DESIGN)
    _, second = child_of_research(OperationType.AGENT_DESIGN)

    design(operations, first, "anthropic")
    design(operations, second, "anthropic")

    assert operations.get(second).result_summary["strategy_name"] == "llm_eurusd_rsi_2"
    first_saved = load_strategy(ktrdr_home / "strategies" / "llm_eurusd_rsi.yaml")
    assert first_saved.decisions.confidence_threshold == 0.6


# -- what the model may read (DESIGN §11) --------------------------------------------------------


def remember(
    operations: OperationsService, number: int, symbol: str = "EURUSD", **fields: object
) -> None:
    """An experiment on ``symbol`` 1h (the EURUSD quick strategy traded on it)."""
    strategy = strategy_input()
    strategy["training_data"]["symbols"] = {"mode": "single", "symbol": symbol}
    ExperimentMemory(operations.store.engine).record(
        ExperimentRecord(
            experiment_id=f"op_agent_research_20260101_00000{number}_0000000{number}",
            created_at=datetime(2026, 1, 1, 0, 0, number, tzinfo=UTC),
            designer="offline",
            status="completed",
            strategy=strategy,
            **fields,
        )
    )


def test_a_blind_prompt_names_no_symbol_and_no_date(
    fake_llm, llm_env, operations, child_of_research
) -> None:
    remember(
        operations,
        1,
        strategy_name="offline_eurusd_1h_t0003",
        backtest_metrics={"sharpe_ratio": 0.4321, "holdout": {"sharpe_ratio": 9.8765}},
        error="no EURUSD 1h bars after 2018-01-31",
    )
    remember(
        operations,
        2,
        strategy_name="old_single_window_design",
        backtest_metrics={"sharpe_ratio": 4.8123},
        protocol=SINGLE_WINDOW,
    )
    remember(
        operations,
        3,
        symbol="BTCUSD",
        strategy_name="another_market_design",
        backtest_metrics={"sharpe_ratio": 1.2345},
    )
    server = fake_llm([save(blind_input())])
    llm_env(server)
    _, child = child_of_research(OperationType.AGENT_DESIGN)

    assert design(operations, child, "anthropic", brief="EURUSD in 2018: mean reversion") == (
        "completed"
    )

    prompt = str(server.requests[0].body)
    # Another market's research window may span this one's holdout: its rows stay out.
    assert "another_market_design" not in prompt and "1.2345" not in prompt
    assert "offline_ASSET_1_1h_t0003" in prompt and "sharpe_ratio 0.4321" in prompt
    assert "ASSET_1 in <year>: mean reversion" in prompt
    assert "eurusd" not in prompt.lower()
    assert ISO_DATE.search(prompt) is None
    assert "9.8765" not in prompt  # a holdout figure
    assert "4.8123" not in prompt and "old_single_window_design" not in prompt


def test_an_unblinded_prompt_names_the_research_window_but_nothing_later(
    fake_llm, llm_env, operations, child_of_research
) -> None:
    remember(
        operations,
        1,
        strategy_name="offline_eurusd_1h_t0003",
        error="no EURUSD 1h bars after 2018-01-31 (from 2017-11-01)",
    )
    server = fake_llm([save(strategy_input())])
    llm_env(server, KTRDR_LLM_BLIND="false")
    _, child = child_of_research(OperationType.AGENT_DESIGN)

    assert design(operations, child, "openai") == "completed"

    prompt = str(server.requests[0].body)
    assert "EURUSD 1h: research window of 4000 bars, 2017-04-19 .. 2017-12-07" in prompt
    assert "from 2017-11-01" in prompt
    assert all(day < HOLDOUT_START for day in ISO_DATE.findall(prompt)), prompt


@pytest.mark.parametrize("written", ["ASSET_1", "EURUSD", None])
def test_the_system_writes_the_real_data_set_and_its_research_window(
    written, fake_llm, llm_env, operations, child_of_research
) -> None:
    strategy = blind_input()
    if written is None:
        del strategy["training_data"]["symbols"]
    else:
        strategy["training_data"]["symbols"]["symbol"] = written
    server = fake_llm([save(strategy)])
    llm_env(server)
    _, child = child_of_research(OperationType.AGENT_DESIGN)

    assert design(operations, child, "anthropic") == "completed"

    saved = load_strategy(operations.get(child).result_summary["strategy_path"])
    assert saved.symbols() == ["EURUSD"] and saved.timeframes() == ["1h"]
    date_range = saved.training_data.date_range
    assert (str(date_range.start), str(date_range.end)) == RESEARCH_WINDOW


def test_a_date_range_the_model_writes_is_replaced_by_the_research_window(
    fake_llm, llm_env, operations, child_of_research
) -> None:
    strategy = strategy_input()
    strategy["training_data"]["date_range"] = {"start": "2017-05-01", "end": "2018-02-01"}
    strategy["backtest"] = {"date_range": {"start": "2018-02-02", "end": "2018-02-07"}}
    server = fake_llm([save(strategy)])
    llm_env(server)
    _, child = child_of_research(OperationType.AGENT_DESIGN)

    assert design(operations, child, "anthropic") == "completed"

    saved = load_strategy(operations.get(child).result_summary["strategy_path"])
    date_range = saved.training_data.date_range
    assert (str(date_range.start), str(date_range.end)) == RESEARCH_WINDOW
    assert saved.backtest is None or saved.backtest.date_range is None


def test_tool_errors_are_blinded_too(fake_llm, llm_env, operations, child_of_research) -> None:
    too_fine = blind_input()
    too_fine["training_data"]["timeframes"] = {"mode": "single", "timeframe": "5m"}
    for item in too_fine["nn_inputs"]:
        item["timeframes"] = "all"
    server = fake_llm([save(too_fine), save(blind_input())])
    llm_env(server)
    _, child = child_of_research(OperationType.AGENT_DESIGN)

    assert design(operations, child, "anthropic") == "completed"

    feedback = last_tool_result(server.requests[1].body)
    assert "no ASSET_1 5m data" in feedback
    assert "EURUSD" not in feedback and "SP500" not in feedback
