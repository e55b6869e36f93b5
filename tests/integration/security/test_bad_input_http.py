"""Finding 7: input that cannot be parsed is a 4xx or one CLI line, never a 500 or a traceback."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest
from typer.testing import CliRunner

from ktrdr.cli.main import app

API = "/api/v1"
DEEP_YAML = "name: x\nextra: " + "[" * 50_000 + "]" * 50_000 + "\n"
HUGE_INT_YAML = "name: x\nversion: " + "9" * 5_000 + "\n"


@pytest.mark.parametrize("text", [DEEP_YAML, HUGE_INT_YAML], ids=["deep", "huge-int"])
def test_unparsable_yaml_is_an_invalid_answer_not_a_500(live_server, text):
    response = httpx.post(
        f"{live_server.base_url}{API}/strategies/validate", json={"yaml": text}, timeout=30
    )

    assert response.status_code == 200
    assert response.json()["data"]["valid"] is False


@pytest.mark.parametrize(
    "body",
    [
        b'{"strategy": ' + b"[" * 50_000 + b"]" * 50_000 + b"}",
        b'{"strategy": {"name": "x", "version": ' + b"9" * 5_000 + b"}}",
    ],
    ids=["deep", "huge-int"],
)
def test_unparsable_json_is_a_4xx_envelope(live_server, body):
    response = httpx.post(
        f"{live_server.base_url}{API}/strategies/validate",
        content=body,
        headers={"Content-Type": "application/json"},
        timeout=30,
    )

    assert 400 <= response.status_code < 500
    assert response.json()["success"] is False


def test_a_broken_file_in_strategies_is_listed_as_broken(live_server):
    strategies = live_server.services.settings.path("strategies")
    strategies.mkdir(parents=True, exist_ok=True)
    (strategies / "deep.yaml").write_text(DEEP_YAML, encoding="utf-8")

    response = httpx.get(f"{live_server.base_url}{API}/strategies", timeout=30)

    assert response.status_code == 200
    listed = {row["name"]: row for row in response.json()["data"]}
    assert listed["deep"]["valid"] is False


@pytest.mark.parametrize("text", [DEEP_YAML, HUGE_INT_YAML], ids=["deep", "huge-int"])
def test_cli_validate_of_an_unparsable_file_is_one_line(tmp_path: Path, text):
    path = tmp_path / "deep.yaml"
    path.write_text(text, encoding="utf-8")

    result = CliRunner().invoke(app, ["strategies", "validate", str(path)])

    assert result.exit_code != 0
    assert len(result.output.strip().splitlines()) <= 2
    assert "Traceback" not in result.output
