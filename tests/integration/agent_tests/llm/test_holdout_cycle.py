"""A full cycle through a real server, real workers, the real walk-forward training and
backtest: a promising verdict takes the final model to its sealed holdout once; any other
verdict completes the cycle without a look.

The deterministic research-window verdict is the ceiling. The market is a synthetic one with a
strong downward drift (5,000 hourly bars), where the small model's walk-forward Sharpe is
significant enough for the default thresholds (DSR ≥ 0.95, 30 trades) to call it ``promising``;
the LLM assessor, answered by a stand-in Anthropic server, keeps that verdict or lowers it, so
each branch is reached on purpose."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pandas as pd
import pytest
from support.bars import trending_bars
from support.cycles import finished, trigger, write_quick_strategy
from support.fake_llm import ASSESSMENT_INPUT, FakeLLMServer, Reply, ToolUse
from support.server import ServerProcess

from ktrdr.data import DataRepository

STRATEGY = "quick_falling"
SYMBOL = "FALLING"


def assessing(verdict: str):
    """A responder that judges every assessment ``verdict``."""

    def respond(_body: dict[str, Any]) -> Reply:
        return ToolUse("save_assessment", {**ASSESSMENT_INPUT, "verdict": verdict}, 3000, 500)

    return respond


@pytest.fixture(scope="module")
def fake() -> Iterator[FakeLLMServer]:
    with FakeLLMServer(assessing("neutral")) as server:
        yield server


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory, fake: FakeLLMServer) -> Iterator:
    home = tmp_path_factory.mktemp("holdout_cycle_home")
    (home / "data").mkdir()
    DataRepository(home / "data").write_bars(SYMBOL, "1h", trending_bars(5_000, drift=-0.0015))
    write_quick_strategy(home, STRATEGY, symbol=SYMBOL)
    running = ServerProcess(home, ANTHROPIC_API_KEY="test", ANTHROPIC_BASE_URL=fake.url).start()
    yield running
    running.stop()


def data_set_window(server: ServerProcess) -> dict[str, Any]:
    (window,) = [w for w in server.get("/data/windows")["data"] if w["symbol"] == SYMBOL]
    return window


def run_cycle(server: ServerProcess, fake: FakeLLMServer, verdict: str) -> dict[str, Any]:
    fake.responder = assessing(verdict)
    research = finished(server, trigger(server, strategy=STRATEGY, assessor="anthropic"))
    assert research["status"] == "completed", research["error_message"]
    return research


def test_a_promising_cycle_ends_with_one_counted_holdout_look(
    server: ServerProcess, fake: FakeLLMServer
) -> None:
    research = run_cycle(server, fake, "promising")
    params = research["metadata"]["parameters"]
    assert params["deterministic_verdict"] == "promising", params["verdict_reason"]
    assert params["verdict"] == "promising" == params["assessor_verdict"]
    statistics = research["result_summary"]["statistics"]
    assert statistics["dsr"] >= 0.95 and statistics["trades"] >= 30
    window = data_set_window(server)
    holdout_start = pd.Timestamp(window["holdout_start"])

    training = params["training_result"]
    folds = training["walk_forward"]["folds"]
    assert len(folds) == 4 and len(training["walk_forward"]["seeds"]) == 3
    assert all(pd.Timestamp(fold["test_end"]) < holdout_start for fold in folds)
    assert pd.Timestamp(server.operation(params["training_op_id"])["metadata"]["end_date"]) < (
        holdout_start
    )
    backtest = params["backtest_result"]
    assert backtest["mode"] == "walk_forward" and backtest["in_sample"] is False
    assert [fold["fold"] for fold in backtest["folds"]] == [1, 2, 3, 4]
    assert pd.Timestamp(backtest["end_date"]) < holdout_start

    look = server.operation(params["holdout_op_id"])
    assert look["parent_operation_id"] == research["operation_id"]
    assert look["result_summary"]["mode"] == "holdout"
    holdout = research["result_summary"]["holdout"]
    assert holdout["verdict"] in {"confirmed", "not_confirmed", "inconclusive"}
    assert holdout["looks"] == 1 == window["holdout_looks"]
    assert pd.Timestamp(holdout["start_date"]) == holdout_start
    assert holdout["metrics"] == look["result_summary"]["metrics"]
    (evaluation,) = server.get("/holdout/evaluations")["data"]
    assert evaluation["operation_id"] == params["holdout_op_id"]
    assert evaluation["result"]["verdict"] == holdout["verdict"]
    summary = research["result_summary"]["walk_forward"]
    assert [fold["fold"] for fold in summary["folds"]] == [1, 2, 3, 4]
    assert len(summary["seed_sharpes"]) == 3


@pytest.mark.parametrize("verdict", ["neutral", "poor"])
def test_an_assessor_that_lowers_the_verdict_keeps_the_model_from_its_holdout(
    server: ServerProcess, fake: FakeLLMServer, verdict: str
) -> None:
    looks_before = data_set_window(server)["holdout_looks"]
    evaluations_before = len(server.get("/holdout/evaluations")["data"])

    research = run_cycle(server, fake, verdict)

    params = research["metadata"]["parameters"]
    assert params["deterministic_verdict"] == "promising", params["verdict_reason"]
    assert params["verdict"] == verdict == params["assessor_verdict"]
    assert research["result_summary"]["statistics"]["n_trials"] >= 2  # one trial per cycle
    assert "holdout_op_id" not in params
    assert research["result_summary"]["holdout"] is None
    assert data_set_window(server)["holdout_looks"] == looks_before
    assert len(server.get("/holdout/evaluations")["data"]) == evaluations_before
