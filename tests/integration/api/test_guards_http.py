"""Bearer token and request size guards over real HTTP."""

from __future__ import annotations

import httpx
import pytest

API = "/api/v1"
TOKEN = "s3cret-token"


@pytest.fixture
def guarded_server(start_live_server):
    return start_live_server(api_token=TOKEN, max_request_bytes=4096)


@pytest.mark.parametrize(
    "headers",
    [{}, {"Authorization": "Bearer wrong"}, {"Authorization": f"Basic {TOKEN}"}],
    ids=["none", "wrong-token", "wrong-scheme"],
)
def test_without_the_token_requests_are_401_envelopes(guarded_server, headers):
    response = httpx.get(f"{guarded_server.base_url}{API}/operations", headers=headers)

    assert response.status_code == 401
    assert response.headers["www-authenticate"] == "Bearer"
    assert response.json()["success"] is False
    assert response.json()["error"]["code"] == "unauthorized"


def test_with_the_token_requests_succeed(guarded_server):
    headers = {"Authorization": f"Bearer {TOKEN}"}

    response = httpx.get(f"{guarded_server.base_url}{API}/operations", headers=headers)

    assert response.status_code == 200
    assert response.json()["total_count"] == 0


def test_health_needs_no_token(guarded_server):
    assert httpx.get(f"{guarded_server.base_url}{API}/health").status_code == 200


def test_a_declared_oversized_body_is_a_413_envelope(guarded_server):
    headers = {"Authorization": f"Bearer {TOKEN}"}

    response = httpx.post(
        f"{guarded_server.base_url}{API}/operations", content=b"x" * 5000, headers=headers
    )

    assert response.status_code == 413
    assert response.json()["error"]["code"] == "payload_too_large"
    assert "4096" in response.json()["error"]["message"]


def test_a_streamed_oversized_body_is_a_413_envelope(guarded_server):
    headers = {"Authorization": f"Bearer {TOKEN}"}
    chunks = (b"y" * 1000 for _ in range(10))  # chunked: no Content-Length to check

    response = httpx.post(
        f"{guarded_server.base_url}{API}/operations", content=chunks, headers=headers
    )

    assert response.status_code == 413
    assert response.json()["error"]["code"] == "payload_too_large"


def test_a_small_body_passes_the_size_guard(guarded_server):
    headers = {"Authorization": f"Bearer {TOKEN}", "Content-Type": "application/json"}

    response = httpx.post(
        f"{guarded_server.base_url}{API}/operations", content=b"{}", headers=headers
    )

    assert response.status_code == 405


def test_health_without_the_token_says_only_the_status(guarded_server):
    open_answer = httpx.get(f"{guarded_server.base_url}{API}/health").json()["data"]
    headers = {"Authorization": f"Bearer {TOKEN}"}
    full_answer = httpx.get(f"{guarded_server.base_url}{API}/health", headers=headers).json()

    assert open_answer == {"status": "ok"}
    assert "executor" in full_answer["data"]
