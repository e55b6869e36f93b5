"""Reports and artifacts over HTTP and through `ktrdr report`, against a real server that ran a
real research cycle (design → training → walk-forward backtest → assessment)."""

from __future__ import annotations

import io
import re
import webbrowser
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pandas as pd
import pytest
from support.cycles import finished, trigger, write_quick_strategy
from support.eventually import eventually
from support.server import ServerProcess
from typer.testing import CliRunner

from ktrdr.cli.main import app

pytestmark = pytest.mark.slow


class Cycle:
    """The server and the ids of one finished cycle and its children."""

    def __init__(self, server: ServerProcess, research: dict[str, Any]) -> None:
        self.server = server
        self.research = research
        self.id = research["operation_id"]
        parameters = research["metadata"]["parameters"]
        self.training = parameters["training_op_id"]
        self.backtest = parameters["backtest_op_id"]
        self.assessment = parameters["assessment_op_id"]


@pytest.fixture(scope="module")
def cycle(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cycle]:
    home = tmp_path_factory.mktemp("reports") / "home"
    home.mkdir()
    name = write_quick_strategy(home, epochs=3)
    write_quick_strategy(home, "slow_eurusd", epochs=400)
    server = ServerProcess(home).start()
    try:
        research = finished(server, trigger(server, strategy=name))
        assert research["status"] == "completed", research.get("error_message")
        yield Cycle(server, research)
    finally:
        server.stop()


def _report(cycle: Cycle, operation_id: str):
    return cycle.server.client.get(f"/operations/{operation_id}/report")


def _error(response) -> dict[str, Any]:
    body = response.json()
    assert body["success"] is False
    return body["error"]


def test_reports_are_written_beside_the_artifacts_at_job_end(cycle: Cycle) -> None:
    home = cycle.server.home
    for folder, operation_id in (
        ("backtests", cycle.backtest),
        ("training", cycle.training),
        ("research", cycle.id),
    ):
        path = home / folder / operation_id / "report.html"
        eventually(path.is_file, f"{path} is written")
    assert (home / "backtests" / cycle.backtest / "equity.parquet").is_file()


@pytest.mark.parametrize("which", ["id", "backtest", "training"])
def test_report_is_self_contained_html(cycle: Cycle, which: str) -> None:
    response = _report(cycle, getattr(cycle, which))
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    page = response.text
    assert page.count("plotly.js v") == 1
    assert not re.search(r"<script[^>]+src=[\"']?https?://", page, re.IGNORECASE)
    assert len(response.content) < 10_000_000


def test_a_missing_report_is_built_on_demand(cycle: Cycle) -> None:
    path = cycle.server.home / "backtests" / cycle.backtest / "report.html"
    eventually(path.is_file, "the backtest report is written")
    path.unlink()
    assert _report(cycle, cycle.backtest).status_code == 200
    assert path.is_file()


def test_finished_jobs_show_what_they_did(cycle: Cycle) -> None:
    backtest = cycle.server.operation(cycle.backtest)["progress"]["current_step"]
    training = cycle.server.operation(cycle.training)["progress"]["current_step"]
    assert re.fullmatch(r"backtested 4 folds, [\d,]+ bars: \d+ trades", backtest)
    assert re.fullmatch(r"trained 4 folds \+ final model × \d+ seeds \(\d+ epochs\)", training)
    assert cycle.research["progress"]["current_step"].startswith("concluded quick_eurusd: ")


def test_report_of_an_unknown_operation_is_404(cycle: Cycle) -> None:
    response = _report(cycle, "op_backtesting_19990101_000000_deadbeef")
    assert response.status_code == 404
    assert _error(response)["code"] == "not_found"


def test_report_of_an_operation_type_without_one_is_400(cycle: Cycle) -> None:
    response = _report(cycle, cycle.assessment)
    assert response.status_code == 400
    error = _error(response)
    assert error["code"] == "no_report"
    assert "agent_assessment" in error["message"]


def test_report_of_a_running_cycle_is_409(cycle: Cycle) -> None:
    running = trigger(cycle.server, strategy="slow_eurusd")
    try:
        response = _report(cycle, running)
        assert response.status_code == 409
        error = _error(response)
        assert error["code"] == "operation_not_finished"
        assert "still" in error["message"] and running in error["message"]
    finally:
        cycle.server.client.delete(f"/operations/{running}")
        finished(cycle.server, running)


def _artifact(cycle: Cycle, operation_id: str, name: str, **params: str):
    return cycle.server.client.get(f"/operations/{operation_id}/artifacts/{name}", params=params)


def test_artifacts_in_every_format(cycle: Cycle) -> None:
    parquet = _artifact(cycle, cycle.backtest, "equity")
    assert parquet.status_code == 200
    equity = pd.read_parquet(io.BytesIO(parquet.content))
    assert {"equity", "target_position", "close"} <= set(equity.columns)
    assert len(equity) == cycle.server.operation(cycle.backtest)["result_summary"]["bars"]
    csv = _artifact(cycle, cycle.backtest, "trades", format="csv")
    assert csv.headers["content-type"].startswith("text/csv")
    assert csv.text.splitlines()[0].startswith("entry_time,exit_time,")
    history = _artifact(cycle, cycle.training, "history", format="json").json()
    assert {"model", "epoch", "train_loss", "val_loss", "val_accuracy"} <= set(history[0])
    assert {row["model"] for row in history} == {"fold 1", "fold 2", "fold 3", "fold 4", "final"}


def test_a_cycle_serves_its_childrens_artifacts(cycle: Cycle) -> None:
    direct = _artifact(cycle, cycle.backtest, "equity").content
    assert _artifact(cycle, cycle.id, "equity").content == direct


def test_an_artifact_name_outside_the_result_is_refused(cycle: Cycle) -> None:
    response = _artifact(cycle, cycle.backtest, "model")
    assert response.status_code == 404
    error = _error(response)
    assert "'model'" in error["message"] and "equity, trades" in error["message"]
    assert error["details"]["artifacts"] == ["equity", "trades"]


def test_a_bad_artifact_format_is_refused(cycle: Cycle) -> None:
    response = _artifact(cycle, cycle.backtest, "equity", format="xlsx")
    assert response.status_code == 422
    assert "parquet, csv, json" in _error(response)["message"]


def test_reports_need_the_token_when_one_is_set(start_live_server) -> None:
    server = start_live_server(api_token="s3cret")
    url = f"{server.base_url}/api/v1/operations/op_x/report"
    assert httpx.get(url).status_code == 401
    authorised = httpx.get(url, headers={"Authorization": "Bearer s3cret"})
    assert authorised.status_code == 404
    artifacts = f"{server.base_url}/api/v1/operations/op_x/artifacts/equity"
    assert httpx.get(artifacts).status_code == 401


def _cli(cycle: Cycle, *args: str):
    return CliRunner().invoke(
        app, ["--url", cycle.server.url, *args], env={"KTRDR_API_TOKEN": None}
    )


def test_cli_report_writes_the_html(cycle: Cycle, tmp_path: Path) -> None:
    target = tmp_path / "cycle.html"
    result = _cli(cycle, "report", cycle.id, "--output", str(target))
    assert result.exit_code == 0, result.output
    assert "saved to" in result.output
    assert target.read_text().count("plotly.js v") == 1


def test_cli_report_defaults_to_the_operation_id_and_opens(
    cycle: Cycle, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    opened: list[str] = []
    monkeypatch.setattr(webbrowser, "open", lambda url: opened.append(url) or True)
    result = _cli(cycle, "report", cycle.backtest, "--open")
    assert result.exit_code == 0, result.output
    saved = tmp_path / f"{cycle.backtest}.html"
    assert saved.is_file()
    assert opened == [saved.resolve().as_uri()]


def test_cli_report_errors_are_one_line(cycle: Cycle, tmp_path: Path) -> None:
    result = _cli(cycle, "report", "op_nope", "--output", str(tmp_path / "x.html"))
    assert result.exit_code == 1
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and "op_nope" in lines[0]
    assert not (tmp_path / "x.html").exists()
    refused = _cli(cycle, "report", cycle.assessment)
    assert refused.exit_code == 1 and "agent_assessment" in refused.output


def test_agent_status_ends_with_the_report_url(cycle: Cycle) -> None:
    result = _cli(cycle, "agent", "status")
    assert result.exit_code == 0, result.output
    assert f"report: {cycle.server.url}/api/v1/operations/" in result.output


def test_the_cycle_pages_links_to_its_childrens_reports_resolve_from_the_served_page(
    cycle: Cycle,
) -> None:
    served = _report(cycle, cycle.id)
    links = re.findall(r'href="(\.\./[^"]+/report)"', served.text)
    assert links == [f"../{cycle.training}/report", f"../{cycle.backtest}/report"]
    for link in links:
        assert cycle.server.client.get(str(served.url.join(link))).status_code == 200
