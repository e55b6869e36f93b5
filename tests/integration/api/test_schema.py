"""Schemathesis against the OpenAPI schema: generated requests never get a 5xx, and every
response matches its documented schema and content type.

The app runs with its real services and a real worker pool over a temp KTRDR_HOME. Excluded:
``POST /agent/trigger`` (an empty body starts a real research cycle, minutes of CPU) and
``POST /data/import`` (multipart uploads; its refusals are tested in tests/integration/surfaces).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import schemathesis
from fastapi import FastAPI
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_schema_conformance,
)
from support.server import LOOPBACK

from ktrdr.api import build_services, create_app
from ktrdr.settings import Settings

EXCLUDED = {("POST", "/api/v1/agent/trigger"), ("POST", "/api/v1/data/import")}
CHECKS = (not_a_server_error, response_schema_conformance, content_type_conformance)


@pytest.fixture(scope="module")
def app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[FastAPI]:
    home = tmp_path_factory.mktemp("schema") / "home"
    # Any Host: schemathesis calls the app by a name of its own; tests/integration/security
    # covers the allow-list.
    config = Settings(
        home=home,
        database_url=None,
        api_token=None,
        cors_origins=[],
        workers=1,
        allowed_hosts=["*"],
    )
    services = build_services(config)
    try:
        with TestClient(create_app(config, services=services), base_url=LOOPBACK):
            yield create_app(config, services=services)
    finally:
        services.close()


def test_no_5xx_and_responses_match_the_schema(app: FastAPI) -> None:
    schema = schemathesis.openapi.from_asgi("/api/v1/openapi.json", app)
    tested = []
    for result in schema.get_all_operations():
        operation = result.ok()
        if (operation.method.upper(), operation.path) in EXCLUDED:
            continue

        @given(case=operation.as_strategy())
        @settings(max_examples=40, deadline=None, suppress_health_check=list(HealthCheck))
        def calls_validate(case: schemathesis.Case) -> None:
            case.call_and_validate(checks=CHECKS)

        calls_validate()
        tested.append(f"{operation.method.upper()} {operation.path}")
    documented = sum(len(methods) for methods in app.openapi()["paths"].values())
    assert len(tested) == documented - len(EXCLUDED), tested


def test_the_excluded_endpoints_exist(app: FastAPI) -> None:
    paths = app.openapi()["paths"]
    for method, path in EXCLUDED:
        assert method.lower() in paths[path], path


def test_the_schema_is_served(app: FastAPI) -> None:
    with TestClient(app, base_url=LOOPBACK) as client:
        assert Path(client.get("/api/v1/openapi.json").json()["openapi"]).name.startswith("3.")


ALIAS_BOMB = "\n".join(
    ["a: &a [lol, lol, lol, lol, lol, lol, lol, lol, lol]"]
    + [
        f"{n}: &{n} [{', '.join([f'*{p}'] * 9)}]"
        for p, n in zip("abcdefgh", "bcdefghi", strict=True)
    ]
)


def test_a_yaml_alias_bomb_is_refused_as_an_invalid_strategy(app: FastAPI) -> None:
    with TestClient(app, base_url=LOOPBACK) as client:
        response = client.post("/api/v1/strategies/validate", json={"yaml": ALIAS_BOMB})
    assert response.status_code == 200
    result = response.json()["data"]
    assert result["valid"] is False
    assert "YAML aliases" in result["issues"][0]["message"]


@pytest.mark.parametrize("name", ["..%2F..%2Fetc%2Fpasswd", "..%2Fx", ".hidden", "a%20b"])
def test_strategy_names_that_try_path_traversal_are_refused(app: FastAPI, name: str) -> None:
    with TestClient(app, base_url=LOOPBACK) as client:
        response = client.get(f"/api/v1/strategies/{name}")
    assert response.status_code in {404, 422}
    assert response.json()["success"] is False


@pytest.mark.parametrize(
    "body",
    [
        {"model_path": "../../etc", "symbol": "EURUSD"},
        {"model_path": "quick", "symbol": "../EURUSD"},
    ],
)
def test_backtests_with_traversing_names_are_refused(app: FastAPI, body: dict) -> None:
    with TestClient(app, base_url=LOOPBACK) as client:
        response = client.post("/api/v1/backtests/start", json=body)
    assert response.status_code in {404, 422}, response.text
    assert response.json()["success"] is False


def test_a_body_over_1_mib_is_a_413(app: FastAPI) -> None:
    with TestClient(app, base_url=LOOPBACK) as client:
        response = client.post(
            "/api/v1/strategies/validate", json={"yaml": "#" * (1024 * 1024 + 1)}
        )
    assert response.status_code == 413
    assert response.json()["error"]["details"]["max_bytes"] == 1024 * 1024


def test_a_corrupt_model_bundle_is_a_clear_error(app: FastAPI) -> None:
    bundle = app.state.services.settings.home / "models" / "broken" / "v1"
    bundle.mkdir(parents=True)
    (bundle / "bundle.json").write_text('{"format": "ktrdr-bundle", "trunc')
    (bundle / "weights.safetensors").write_bytes(b"\x00\x01")
    with TestClient(app, base_url=LOOPBACK) as client:
        response = client.post("/api/v1/backtests/start", json={"model_path": str(bundle)})
    assert 400 <= response.status_code < 500, response.text
    assert "bundle.json" in response.json()["error"]["message"]
