"""Finding 4: every path a request names stays inside KTRDR_HOME; errors reveal no files."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest
from integration.conftest import make_settings, run_live_server

API = "/api/v1"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory):
    home = tmp_path_factory.mktemp("paths") / "home"
    with run_live_server(make_settings(home, workers=1), with_executor=True) as live:
        yield live


@pytest.fixture
def secret_yaml(tmp_path: Path) -> Path:
    path = tmp_path / "config.yaml"
    path.write_text("name: leaked hunter2-secret\nversion: hunter2\n", encoding="utf-8")
    return path


def post(server, path: str, body: dict) -> httpx.Response:
    return httpx.post(f"{server.base_url}{API}{path}", json=body, timeout=30)


def test_a_strategy_path_outside_the_home_is_refused_without_echoing_the_file(server, secret_yaml):
    response = post(server, "/training/start", {"strategy": str(secret_yaml)})

    assert response.status_code == 422
    assert "hunter2" not in response.text
    assert "leaked" not in response.text


def test_an_outside_strategy_path_answers_the_same_whether_or_not_it_exists(server, secret_yaml):
    existing = post(server, "/training/start", {"strategy": str(secret_yaml)})
    missing = post(server, "/training/start", {"strategy": str(secret_yaml.with_name("no.yaml"))})

    assert existing.status_code == missing.status_code == 422
    assert existing.json()["error"]["code"] == missing.json()["error"]["code"]


def test_a_relative_strategy_path_cannot_climb_out(server):
    response = post(server, "/training/start", {"strategy": "../../../../etc/x.yaml"})

    assert response.status_code == 422


def test_a_model_folder_outside_models_is_refused(server, tmp_path: Path):
    outside = tmp_path / "bundle"
    outside.mkdir()
    (outside / "bundle.json").write_text("{}", encoding="utf-8")

    response = post(server, "/backtests/start", {"model_path": str(outside)})

    assert response.status_code == 422
    assert "models" in response.json()["error"]["message"]


@pytest.mark.parametrize(
    ("route", "field", "value"),
    [
        ("/backtests/start", "model_path", "m" * 6000),
        ("/backtests/start", "model_path", "models/" + "m" * 300),
        ("/training/start", "strategy", "s" * 6000 + ".yaml"),
    ],
    ids=["model-6000", "model-long-part", "strategy-6000"],
)
def test_an_overlong_path_is_a_4xx(server, route, field, value):
    response = post(server, route, {field: value})

    assert 400 <= response.status_code < 500
    assert response.json()["success"] is False
