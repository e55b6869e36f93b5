"""The LLM assessor: saves through save_assessment into the offline assessor's file shape."""

from __future__ import annotations

import json
import re

import pytest
from support.fake_llm import ASSESSMENT_INPUT, EXAMPLE, ToolUse, last_tool_result

from ktrdr.agents.assessment.offline import assess
from ktrdr.agents.workers import ASSESSMENT_JOB
from ktrdr.execution import JobSpec
from ktrdr.execution.worker import run_job
from ktrdr.operations import OperationsService, OperationType
from ktrdr.settings import get_settings
from ktrdr.strategy import load_strategy, save_strategy

TRAINING = {
    "test_metrics": {"test_accuracy": 0.45, "test_loss": 0.95, "f1": 0.4},
    "training_metrics": {"epochs_run": 3, "history": {"train_loss": [1.1, 1.0, 0.9]}},
}
BACKTEST = {"metrics": {"total_trades": 12, "sharpe_ratio": -0.2, "win_rate": 0.4}}
GATES = {"training": {"passed": True, "reason": "ok"}, "backtest": {"passed": True, "reason": "ok"}}


def assess_job(
    operations: OperationsService,
    child: str,
    research: str,
    provider: str,
    backtest: dict | None = None,
) -> str:
    path = save_strategy(load_strategy(EXAMPLE), get_settings().path("strategies"))
    request = {
        "assessor": provider,
        "strategy_name": "eurusd_rsi_macd_mlp",
        "strategy_path": str(path),
        "training_result": TRAINING,
        "backtest_result": backtest or BACKTEST,
        "gates": GATES,
        "experiment_id": research,
    }
    return run_job(JobSpec(operation_id=child, job=ASSESSMENT_JOB, request=request), operations)


@pytest.mark.parametrize("provider", ["anthropic", "openai"])
def test_the_assessment_is_saved_through_the_tool_in_the_offline_shape(
    provider, fake_llm, llm_env, operations, child_of_research, ktrdr_home
) -> None:
    server = fake_llm([ToolUse("save_assessment", ASSESSMENT_INPUT, 2000, 400)])
    llm_env(server)
    research, child = child_of_research(OperationType.AGENT_ASSESSMENT)

    assert assess_job(operations, child, research, provider) == "completed"

    result = operations.get(child).result_summary
    path = ktrdr_home / "strategies" / "eurusd_rsi_macd_mlp" / "assessment.json"
    assert result["assessment_path"] == str(path) and result["verdict"] == "neutral"
    assert result["tokens"] == {"input": 2000, "output": 400} and result["cost_usd"] > 0
    written = json.loads(path.read_text())
    offline = assess("eurusd_rsi_macd_mlp", TRAINING, BACKTEST, GATES, 1)
    assert set(offline) <= set(written)
    assert written["assessor"] == provider and written["metrics"] == offline["metrics"]
    assert written["operation_id"] == child
    assert written["suggestions"] == ASSESSMENT_INPUT["suggestions"]
    assert written["hypotheses"] == ASSESSMENT_INPUT["hypotheses"]
    prompt = str(server.requests[0].body["messages"])
    assert "test_accuracy" in prompt and "sharpe_ratio" in prompt and "rsi_14" in prompt


def test_a_bad_verdict_goes_back_to_the_model(
    fake_llm, llm_env, operations, child_of_research
) -> None:
    server = fake_llm(
        [
            ToolUse("save_assessment", {**ASSESSMENT_INPUT, "verdict": "great"}),
            ToolUse("save_assessment", ASSESSMENT_INPUT),
        ]
    )
    llm_env(server)
    research, child = child_of_research(OperationType.AGENT_ASSESSMENT)

    assert assess_job(operations, child, research, "anthropic") == "completed"

    feedback = last_tool_result(server.requests[1].body)
    assert "verdict" in feedback and "promising" in feedback


def test_the_model_chosen_at_trigger_is_used(
    fake_llm, llm_env, operations, child_of_research
) -> None:
    server = fake_llm([ToolUse("save_assessment", ASSESSMENT_INPUT)])
    llm_env(server)
    research, child = child_of_research(OperationType.AGENT_ASSESSMENT)
    operations.update_parameters(research, {"assessor_model": "claude-opus-5-5"})

    assess_job(operations, child, research, "anthropic")

    assert server.requests[0].body["model"] == "claude-opus-5-5"


DATED_BACKTEST = {
    **BACKTEST,
    "start_date": "2017-10-02T00:00:00+00:00",
    "end_date": "2017-12-07T23:00:00+00:00",
    "bars": 1000,
    "holdout": {"metrics": {"sharpe_ratio": 9.8765}},
}


def test_a_blind_assessment_prompt_names_no_symbol_no_date_and_no_holdout(
    fake_llm, llm_env, operations, child_of_research
) -> None:
    server = fake_llm([ToolUse("save_assessment", ASSESSMENT_INPUT)])
    llm_env(server)
    research, child = child_of_research(OperationType.AGENT_ASSESSMENT)

    assert assess_job(operations, child, research, "anthropic", DATED_BACKTEST) == "completed"

    prompt = str(server.requests[0].body)
    assert "# Strategy ASSET_1_rsi_macd_mlp" in prompt and '"bars": 1000' in prompt
    assert "eurusd" not in prompt.lower()
    assert re.search(r"\d{4}-\d{2}-\d{2}", prompt) is None
    assert "9.8765" not in prompt and "holdout" not in prompt.split("# Training")[1]


def test_an_open_assessment_prompt_keeps_research_dates_only(
    fake_llm, llm_env, operations, child_of_research
) -> None:
    server = fake_llm([ToolUse("save_assessment", ASSESSMENT_INPUT)])
    llm_env(server, KTRDR_LLM_BLIND="false")
    research, child = child_of_research(OperationType.AGENT_ASSESSMENT)

    assert assess_job(operations, child, research, "openai", DATED_BACKTEST) == "completed"

    prompt = str(server.requests[0].body)
    assert "EURUSD" in prompt and "2017-10-02" in prompt
    assert all(day < "2017-12-08" for day in re.findall(r"\d{4}-\d{2}-\d{2}", prompt))
    assert "9.8765" not in prompt
