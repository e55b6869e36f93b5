"""``ktrdr operations ...`` against a real server."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import httpx
from typer.testing import CliRunner

from ktrdr.cli.main import app

REPO_ROOT = Path(__file__).resolve().parents[3]


def _running(services, operation_type: str, parent: str | None = None) -> str:
    operation = services.operations.create(operation_type, parent_operation_id=parent)
    services.operations.start(operation.operation_id)
    return operation.operation_id


def test_list_on_an_empty_server_prints_an_empty_table(cli):
    result = cli("operations", "list")

    assert result.exit_code == 0, result.output
    header = result.stdout.splitlines()[1]
    for column in ("id", "type", "status", "progress", "step", "created", "duration"):
        assert column in header
    assert "op_" not in result.stdout


def test_list_shows_operations_and_json_matches_the_api(cli, live_server):
    services = live_server.services
    op_id = _running(services, "training")
    services.operations.update_progress(op_id, percentage=25, current_step="epoch 1", force=True)

    table = cli("operations", "list", "--type", "training", "--active")
    raw = cli("operations", "list", "--json")

    assert table.exit_code == 0, table.output
    assert op_id in table.stdout
    assert "running" in table.stdout
    assert "25.0%" in table.stdout
    assert "epoch 1" in table.stdout
    api = httpx.get(f"{live_server.base_url}/api/v1/operations", params={"limit": 50}).json()
    assert json.loads(raw.stdout)["data"][0]["operation_id"] == api["data"][0]["operation_id"]
    assert json.loads(raw.stdout)["total_count"] == 1


def test_list_says_when_rows_are_left_out(cli, live_server):
    for _ in range(3):
        live_server.services.operations.create("data_import")

    result = cli("operations", "list", "--limit", "2")

    assert "showing 2 of 3" in result.stdout


def test_status_shows_progress_parent_and_result(cli, live_server):
    services = live_server.services
    parent = _running(services, "agent_research")
    child = _running(services, "backtesting", parent=parent)
    services.operations.complete(child, {"sharpe": 1.25, "trades": 41})

    result = cli("operations", "status", child)
    raw = cli("operations", "status", child, "--json")

    assert result.exit_code == 0, result.output
    assert parent in result.stdout
    assert "completed" in result.stdout
    assert "100.0%" in result.stdout
    assert '"sharpe": 1.25' in result.stdout
    assert json.loads(raw.stdout)["data"]["result_summary"] == {"sharpe": 1.25, "trades": 41}


def test_cancel_cancels_the_tree_and_a_second_cancel_fails_in_one_line(cli, live_server):
    services = live_server.services
    parent = _running(services, "agent_research")
    child = _running(services, "training", parent=parent)

    first = cli("operations", "cancel", parent, "--json")
    second = cli("operations", "cancel", parent)

    assert first.exit_code == 0, first.output
    assert sorted(json.loads(first.stdout)["data"]["cancelled"]) == sorted([parent, child])
    assert second.exit_code == 1
    assert second.stderr.startswith("error: ")
    assert len(second.stderr.strip().splitlines()) == 1


def test_status_of_an_unknown_id_is_one_line_and_exit_1(cli):
    result = cli("operations", "status", "nope")

    assert result.exit_code == 1
    assert result.stdout == ""
    assert result.stderr == "error: operation 'nope' not found\n"


def test_a_bad_filter_value_names_the_parameter(cli):
    result = cli("operations", "list", "--status", "bogus")

    assert result.exit_code == 1
    assert result.stderr.startswith("error: status: must be one of pending, running")


def test_the_token_comes_from_ktrdr_api_token(start_live_server):
    server = start_live_server(api_token="t0ken")
    args = ["--url", server.base_url, "operations", "list", "--json"]

    refused = CliRunner().invoke(app, args, env={"KTRDR_API_TOKEN": None})
    accepted = CliRunner().invoke(app, args, env={"KTRDR_API_TOKEN": "t0ken"})

    assert refused.exit_code == 1
    assert refused.stderr.startswith("error: missing or invalid bearer token")
    assert accepted.exit_code == 0, accepted.output
    assert json.loads(accepted.stdout)["total_count"] == 0


def test_the_real_command_prints_one_line_for_an_unknown_id(live_server):
    env = {**os.environ, "PYTHONPATH": str(REPO_ROOT)}
    env.pop("KTRDR_API_TOKEN", None)

    completed = subprocess.run(
        [
            sys.executable,
            "-m",
            "ktrdr.cli.main",
            "--url",
            live_server.base_url,
            "operations",
            "status",
            "nope",
        ],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
        check=False,
    )

    assert completed.returncode == 1
    assert completed.stdout == ""
    assert completed.stderr == "error: operation 'nope' not found\n"
