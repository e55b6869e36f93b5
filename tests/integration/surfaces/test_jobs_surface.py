"""``ktrdr train`` and ``ktrdr backtest`` with ``--follow`` on a server with a real worker."""

from __future__ import annotations

import json
from pathlib import Path
from typing import NamedTuple

import httpx
import pytest
from click.testing import Result
from integration.conftest import LiveServer
from integration.surfaces.conftest import run_cli, tiny_strategy, write_yaml
from support.eventually import eventually


class Trained(NamedTuple):
    """The CLI run of a tiny training and the operation it started."""

    result: Result
    operation_id: str
    model_path: Path


@pytest.fixture(scope="module")
def trained(job_server: LiveServer, tmp_path_factory: pytest.TempPathFactory) -> Trained:
    """``ktrdr train tiny.yaml --follow`` once per module (2 epochs, one 8-unit layer)."""
    strategy = write_yaml(tmp_path_factory.mktemp("strategy") / "tiny.yaml", tiny_strategy())
    result = run_cli(job_server.base_url, "train", str(strategy), "--follow")
    [operation] = job_server.services.operations.list(operation_type="training").items
    model_path = Path((operation.result_summary or {}).get("model_path", "missing"))
    return Trained(result, operation.operation_id, model_path)


def test_train_follow_draws_the_bar_then_prints_the_summary(trained):
    result = trained.result

    assert result.exit_code == 0, result.output
    bar = next(line for line in result.stdout.splitlines() if line.startswith("training "))
    assert "100%" in bar
    assert "completed" in bar
    assert "training completed" in result.stdout
    for label in ("accuracy", "loss", "precision", "recall", "f1", "best epoch", "samples"):
        assert label in result.stdout
    epochs = next(line for line in result.stdout.splitlines() if "epochs" in line)
    assert epochs.split()[-1] == "2"
    assert trained.operation_id in result.stdout
    assert str(trained.model_path) in result.stdout
    assert (trained.model_path / "bundle.json").is_file()


def test_operations_list_shows_the_training_completed(job_server, trained):
    result = run_cli(job_server.base_url, "operations", "list", "--type", "training")

    row = next(line for line in result.stdout.splitlines() if trained.operation_id in line)
    assert "completed" in row
    assert "100.0%" in row


def test_backtest_follow_prints_the_metrics_and_artifacts(job_server, trained):
    result = run_cli(job_server.base_url, "backtest", str(trained.model_path), "--follow")

    assert result.exit_code == 0, result.output
    assert "backtest completed" in result.stdout
    assert "EURUSD 1h" in result.stdout
    assert "2017-11-01 .. 2017-11-30" in result.stdout  # the strategy's backtest.date_range
    assert "range" in result.stdout
    for label in (
        "total return",
        "annualised return",
        "sharpe ratio",
        "sortino ratio",
        "max drawdown",
        "win rate",
        "profit factor",
        "trades",
        "avg trade return",
        "exposure",
        "buy & hold return",
    ):
        assert label in result.stdout
    artifacts = dict(
        line.split(": ", 1)
        for line in result.stdout.splitlines()
        if line.startswith(("trades: ", "equity: "))
    )
    assert set(artifacts) == {"trades", "equity"}
    assert all(Path(path).is_file() for path in artifacts.values())


def test_backtest_inside_the_training_range_is_one_line(job_server, trained):
    before = job_server.services.operations.list(operation_type="backtesting").total_count

    result = run_cli(
        job_server.base_url,
        "backtest",
        str(trained.model_path),
        "--start",
        "2017-06-01",
        "--end",
        "2017-08-01",
        "--follow",
    )

    assert result.exit_code == 1
    assert result.stdout == ""
    [line] = result.stderr.splitlines()
    assert line.startswith("error: backtest range 2017-06-01..2017-08-01 is in-sample")
    after = job_server.services.operations.list(operation_type="backtesting").total_count
    assert after == before


def test_train_refuses_an_invalid_local_file_before_calling_the_server(tmp_path):
    strategy = tiny_strategy()
    strategy["indicators"]["rsi_14"]["type"] = "rsx"
    path = write_yaml(tmp_path / "broken.yaml", strategy)

    result = run_cli("http://127.0.0.1:9", "train", str(path), "--follow")

    assert result.exit_code == 1
    [line] = result.stderr.splitlines()
    assert line.startswith(f"error: {path}: invalid strategy: indicators.rsi_14.type: ")


def test_train_an_unknown_name_is_one_line(job_server):
    result = run_cli(job_server.base_url, "train", "no_such_strategy")

    assert result.exit_code == 1
    [line] = result.stderr.splitlines()
    assert line.startswith("error: unknown strategy 'no_such_strategy'")


def test_training_start_answers_202_with_the_operation_id(job_server, trained):
    response = httpx.post(
        f"{job_server.base_url}/api/v1/training/start",
        json={"strategy": tiny_strategy(), "seed": 3},
    )
    operation_id = response.json()["operation_id"]
    cancelled = run_cli(job_server.base_url, "operations", "cancel", operation_id, "--json")

    assert response.status_code == 202
    assert response.json() == {
        "success": True,
        "data": {"operation_id": operation_id},
        "operation_id": operation_id,
    }
    assert json.loads(cancelled.stdout)["data"]["cancelled"] == [operation_id]
    eventually(
        lambda: job_server.services.executor.health()["busy"] == 0,
        "the cancelled training's worker is free again",
    )
