"""Finding 4: every path a request names stays inside KTRDR_HOME; errors reveal no files."""

from __future__ import annotations

import json
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


def write_manifest(folder: Path, **changes) -> None:
    folder.mkdir(parents=True)
    manifest = {
        "format_version": 1,
        "model_section": {"type": "mlp", "architecture": {"hidden_layers": [8]}},
        "n_features": 4,
        "n_classes": 3,
        "label_names": ["a", "b", "c"],
        "weights_file": "weights.safetensors",
        "weights_sha256": "0" * 64,
        "versions": {},
        "created_at": "2026-01-01T00:00:00Z",
        **changes,
    }
    (folder / "bundle.json").write_text(json.dumps(manifest), encoding="utf-8")


@pytest.mark.parametrize(
    "changes",
    [
        {"model_section": {"type": "lstm", "architecture": {"num_layers": 300_000}}},
        {"model_section": {"type": "mlp", "architecture": {"hidden_layers": [100_000] * 2}}},
        {"n_features": 10**9},
        {"normalization": {"rsi": {"mean": float("nan"), "std": 1.0}}},
    ],
    ids=["lstm-300k-layers", "wide-mlp", "features", "nan-normalization"],
)
def test_an_oversized_or_non_finite_bundle_is_refused_before_any_model_is_built(server, changes):
    folder = server.services.settings.path("models", "evil", f"v{abs(hash(str(changes)))}")
    write_manifest(folder, **changes)

    response = post(server, "/backtests/start", {"model_path": str(folder)})

    assert response.status_code == 422
    assert "bundle.json" in response.json()["error"]["message"]
