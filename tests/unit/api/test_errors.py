"""Every error becomes the error envelope with a fitting status; nothing leaks."""

from __future__ import annotations

from typing import Annotated

import pytest
from fastapi import Query
from fastapi.testclient import TestClient
from support.server import LOOPBACK

from ktrdr import errors
from ktrdr.api import create_app


def _app_raising(settings, services, exc: Exception):
    app = create_app(settings, services=services)

    def boom() -> None:
        raise exc

    app.add_api_route("/api/v1/boom", boom)
    return app


@pytest.mark.parametrize(
    ("exc", "status", "code"),
    [
        (errors.ValidationError("symbol 'X' unknown"), 422, "validation_error"),
        (errors.NotFoundError("model m not found"), 404, "not_found"),
        (errors.ConflictError("busy"), 409, "conflict"),
        (errors.ActiveCycleExistsError("a research is active"), 409, "active_cycle_exists"),
        (errors.DataError("no bars for EURUSD 1h"), 422, "data_error"),
        (errors.TransientError("store unavailable"), 503, "unavailable"),
        (errors.InvariantError("two parents"), 500, "invariant_violated"),
        (
            errors.StrategyValidationError([{"path": "fuzzy_sets.rsi", "message": "empty"}]),
            422,
            "strategy_invalid",
        ),
    ],
)
def test_ktrdr_errors_map_to_their_status_and_code(settings, services, exc, status, code):
    with TestClient(_app_raising(settings, services, exc), base_url=LOOPBACK) as client:
        response = client.get("/api/v1/boom")

    assert response.status_code == status
    assert response.json() == {"success": False, "error": exc.to_dict()}
    assert response.json()["error"]["code"] == code


def test_an_unexpected_exception_is_a_generic_500_that_leaks_nothing(settings, services, caplog):
    app = _app_raising(settings, services, RuntimeError("password=hunter2"))
    with TestClient(app, base_url=LOOPBACK) as client:
        response = client.get("/api/v1/boom")

    assert response.status_code == 500
    body = response.json()
    assert body["success"] is False
    assert body["error"]["code"] == "internal_error"
    assert "hunter2" not in response.text
    assert any(record.exc_info for record in caplog.records if record.levelname == "ERROR")


def test_a_missing_required_parameter_is_named(settings, services):
    app = create_app(settings, services=services)

    def needs(symbol: Annotated[str, Query()]) -> dict[str, str]:
        return {"symbol": symbol}

    app.add_api_route("/api/v1/needs", needs)
    with TestClient(app, base_url=LOOPBACK) as client:
        response = client.get("/api/v1/needs")

    assert response.status_code == 422
    assert response.json()["error"]["message"] == "symbol: field required"
    assert response.json()["error"]["details"]["errors"][0]["location"] == "query"


def test_a_malformed_json_body_is_a_422_not_a_500(settings, services):
    app = create_app(settings, services=services)

    def takes(body: dict[str, int]) -> dict[str, int]:
        return body

    app.add_api_route("/api/v1/takes", takes, methods=["POST"])
    with TestClient(app, base_url=LOOPBACK) as client:
        response = client.post(
            "/api/v1/takes", content=b"{not json", headers={"Content-Type": "application/json"}
        )

    assert response.status_code == 422
    assert response.json()["error"]["code"] == "validation_error"
    assert response.json()["error"]["details"]["errors"][0]["location"] == "body"
