"""Data windows and holdout looks through the HTTP API and the CLI (DESIGN §5, §6, §11)."""

from __future__ import annotations

import json
from pathlib import Path

import httpx
import pandas as pd
import pytest
from integration.conftest import LiveServer
from integration.surfaces.conftest import run_cli, tiny_strategy
from support.eventually import eventually, terminal

from ktrdr.errors import NotFoundError
from ktrdr.operations import OperationStatus

WINDOW_KEYS = {
    "symbol",
    "timeframe",
    "research_start",
    "research_end",
    "holdout_start",
    "holdout_end",
    "frozen_at",
    "holdout_looks",
}


def reset_url(server: LiveServer, symbol: str, timeframe: str) -> str:
    return f"{server.base_url}/api/v1/data/windows/{symbol}/{timeframe}/reset"


def test_reset_freezes_and_moves_a_window_then_the_list_shows_it(plain_server):
    answer = httpx.post(reset_url(plain_server, "GOOG", "1d"), json={"holdout_start": "2012-06-01"})

    assert answer.status_code == 200, answer.text
    window = answer.json()["data"]
    assert set(window) == WINDOW_KEYS
    assert window["holdout_start"] == "2012-06-01T00:00:00+00:00"
    assert window["holdout_end"] == "2013-03-01T00:00:00+00:00"
    assert window["holdout_looks"] == 0
    listed = httpx.get(f"{plain_server.base_url}/api/v1/data/windows").json()
    assert listed["success"] is True
    no_trials = {"n_trials": 0, "trials_sharpe_variance": None, "pbo": None}
    assert {**window, **no_trials} in listed["data"]


def test_data_windows_cli_lists_and_resets(plain_server):
    reset = run_cli(
        plain_server.base_url,
        "data",
        "windows",
        "reset",
        "NASDAQ",
        "1d",
        "--holdout-start",
        "2016-01-04",
    )
    table = run_cli(plain_server.base_url, "data", "windows")
    raw = run_cli(plain_server.base_url, "data", "windows", "--json")

    assert reset.exit_code == 0, reset.output
    assert "NASDAQ 1d: holdout now starts 2016-01-04 00:00:00" in reset.stdout
    assert table.exit_code == 0, table.output
    header = table.stdout.splitlines()[1]
    for column in WINDOW_KEYS:
        assert column in header
    row = next(line for line in table.stdout.splitlines() if "NASDAQ" in line)
    assert "2016-01-04 00:00:00" in row and "1999-01-04 00:00:00" in row
    windows = json.loads(raw.stdout)["data"]
    assert any(w["symbol"] == "NASDAQ" and w["holdout_looks"] == 0 for w in windows)


@pytest.mark.parametrize(
    ("symbol", "body", "status", "words"),
    [
        ("SP500", {"holdout_start": "soon"}, 422, "holdout_start 'soon' is not a date"),
        ("SP500", {"holdout_start": "1999-01-05"}, 422, "after the first 100 bars"),
        ("SP500", {"holdout_start": "2030-01-01"}, 422, "at or before the last bar"),
        ("NOPE", {"holdout_start": "2016-01-04"}, 404, "NOPE"),
        ("SP500", {}, 422, "holdout_start"),
    ],
)
def test_a_bad_reset_is_a_4xx_with_the_error_envelope(plain_server, symbol, body, status, words):
    before = httpx.get(f"{plain_server.base_url}/api/v1/data/windows").json()["data"]

    answer = httpx.post(reset_url(plain_server, symbol, "1d"), json=body)

    assert answer.status_code == status, answer.text
    payload = answer.json()
    assert payload["success"] is False
    assert words in json.dumps(payload["error"])
    after = httpx.get(f"{plain_server.base_url}/api/v1/data/windows").json()["data"]
    assert after == before


def test_a_bad_reset_on_the_cli_is_one_line(plain_server):
    result = run_cli(
        plain_server.base_url, "data", "windows", "reset", "SP500", "1d", "--holdout-start", "soon"
    )

    assert result.exit_code == 1
    assert result.stdout == ""
    [line] = result.stderr.splitlines()
    assert line.startswith("error: holdout_start 'soon' is not a date")


@pytest.fixture(scope="module")
def model_path(job_server: LiveServer) -> str:
    """A tiny EURUSD model trained through the API, before the EURUSD 1h holdout."""
    answer = httpx.post(
        f"{job_server.base_url}/api/v1/training/start",
        json={"strategy": tiny_strategy(), "seed": 3},
    )
    assert answer.status_code == 202, answer.text
    operation = terminal(job_server.services.operations, answer.json()["operation_id"], 120)
    assert operation.status is OperationStatus.COMPLETED, operation.error_message
    return str(Path(operation.result_summary["model_path"]))


def test_holdout_evaluate_looks_once_and_prints_the_look_count(job_server, model_path):
    first = run_cli(job_server.base_url, "holdout", "evaluate", model_path)
    second = run_cli(job_server.base_url, "holdout", "evaluate", model_path, "--json")

    assert first.exit_code == 0, first.output
    assert "holdout evaluation" in first.stdout
    assert "2017-12-08 .. 2018-02-07" in first.stdout
    assert "number 1 at this holdout" in first.stdout
    for label in ("verdict", "reason", "psr(0)", "sharpe ratio", "trades"):
        assert label in first.stdout
    assert second.exit_code == 0, second.output
    stored = json.loads(second.stdout)
    assert stored["look"] == 1 and stored["result"]["looks"] == 1
    assert stored["result"]["verdict"] in {"confirmed", "not_confirmed", "inconclusive"}
    assert stored["result"]["verdict"] in first.stdout
    backtests = job_server.services.operations.list(operation_type="backtesting").items
    assert [op.operation_id for op in backtests] == [stored["operation_id"]]
    windows = httpx.get(f"{job_server.base_url}/api/v1/data/windows").json()["data"]
    eurusd = next(w for w in windows if (w["symbol"], w["timeframe"]) == ("EURUSD", "1h"))
    assert eurusd["holdout_looks"] == 1


def test_holdout_api_returns_the_stored_evaluation_and_lists_it(job_server, model_path):
    run_cli(job_server.base_url, "holdout", "evaluate", model_path)  # stored after the first look

    answer = httpx.post(
        f"{job_server.base_url}/api/v1/holdout/evaluate", json={"model": model_path}
    )
    listed = httpx.get(f"{job_server.base_url}/api/v1/holdout/evaluations")

    assert answer.status_code == 200, answer.text
    evaluation = answer.json()["data"]
    assert evaluation["look"] == 1 and evaluation["result"]["looks"] == 1
    assert listed.status_code == 200
    assert listed.json()["data"] == [evaluation]


def test_holdout_evaluate_of_an_unknown_model_is_a_404_and_one_line(job_server):
    answer = httpx.post(f"{job_server.base_url}/api/v1/holdout/evaluate", json={"model": "nope"})
    result = run_cli(job_server.base_url, "holdout", "evaluate", "nope")

    assert answer.status_code == 404
    assert answer.json()["success"] is False
    assert result.exit_code == 1
    [line] = result.stderr.splitlines()
    assert line.startswith("error: model 'nope'")


def test_backtest_into_the_holdout_on_the_cli_points_to_holdout_evaluate(job_server, model_path):
    result = run_cli(
        job_server.base_url, "backtest", model_path, "--start", "2017-11-01", "--end", "2018-01-15"
    )

    assert result.exit_code == 1
    [line] = result.stderr.splitlines()
    assert "sealed holdout" in line and "ktrdr holdout evaluate" in line


def test_backtest_allow_in_sample_runs_marked_in_sample(job_server, model_path):
    result = run_cli(
        job_server.base_url,
        "backtest",
        model_path,
        "--start",
        "2017-10-02",
        "--end",
        "2017-10-27",
        "--allow-in-sample",
        "--follow",
    )

    assert result.exit_code == 0, result.output
    assert "range (IN-SAMPLE: no evidence)" in result.stdout


def eurusd_window(server: LiveServer) -> dict:
    windows = httpx.get(f"{server.base_url}/api/v1/data/windows").json()["data"]
    return next(w for w in windows if (w["symbol"], w["timeframe"]) == ("EURUSD", "1h"))


def test_a_manual_walk_forward_backtest_counts_as_a_trial_a_range_does_not(job_server, model_path):
    before = eurusd_window(job_server)["n_trials"]
    ranged = httpx.post(
        f"{job_server.base_url}/api/v1/backtests/start",
        json={
            "model_path": model_path,
            "start_date": "2017-10-02",
            "end_date": "2017-10-27",
            "allow_in_sample": True,
        },
    )
    walked = httpx.post(
        f"{job_server.base_url}/api/v1/backtests/start",
        json={"model_path": model_path, "mode": "walk_forward"},
    )
    assert ranged.status_code == walked.status_code == 202, (ranged.text, walked.text)
    operations = job_server.services.operations
    for answer in (ranged, walked):
        done = terminal(operations, answer.json()["data"]["operation_id"], 120)
        assert done.status is OperationStatus.COMPLETED, done.error_message

    walked_id = walked.json()["data"]["operation_id"]
    trials = job_server.services.trials
    eventually(
        lambda: walked_id in {t.operation_id for t in trials.trials("EURUSD", "1h")},
        "the walk-forward backtest recorded as a trial",
    )
    trial = trials.trial(walked_id)
    window = eurusd_window(job_server)
    assert window["n_trials"] == before + 1
    assert trial.holdout_start == pd.Timestamp(window["holdout_start"])
    with pytest.raises(NotFoundError):
        trials.trial(ranged.json()["data"]["operation_id"])
    table = run_cli(job_server.base_url, "data", "windows")
    assert table.exit_code == 0, table.output
    for column in ("n_trials", "trials_sharpe_variance", "pbo"):
        assert column in table.stdout
    row = next(line for line in table.stdout.splitlines() if "EURUSD" in line)
    assert f" {before + 1} " in row


def test_the_api_costs_override_takes_spread_financing_and_per_symbol_costs(job_server, model_path):
    url = f"{job_server.base_url}/api/v1/backtests/start"
    dates = {"start_date": "2017-10-02", "end_date": "2017-10-27", "allow_in_sample": True}
    costs = {
        "spread_bps": 2,
        "financing_bps_per_day": 0.5,
        "per_symbol": {"EURUSD": {"commission_bps": 0}},
    }
    answer = httpx.post(url, json={"model_path": model_path, **dates, "costs": costs})
    refused = httpx.post(
        url,
        json={
            "model_path": model_path,
            **dates,
            "costs": {"per_symbol": {"EURUSD": {"spread_bps": -1}}},
        },
    )

    assert answer.status_code == 202, answer.text
    done = terminal(job_server.services.operations, answer.json()["data"]["operation_id"], 120)
    assert done.status is OperationStatus.COMPLETED, done.error_message
    assert done.metadata.parameters["costs"] == {
        "commission_bps": 1.0,
        "slippage_bps": 0.5,
        "spread_bps": 2.0,
        "financing_bps_per_day": 0.5,
        "per_symbol": {"EURUSD": {"commission_bps": 0.0}},
    }
    assert refused.status_code == 422
    assert "costs.per_symbol.EURUSD.spread_bps" in refused.json()["error"]["message"]
