"""POST /data/import over real HTTP: bad input is a 4xx and no import operation stays running."""

from __future__ import annotations

import httpx
import pytest

API = "/api/v1"
HEADER = "timestamp,open,high,low,close,volume\n"


@pytest.fixture
def server(start_live_server):
    return start_live_server()


def _import(server, body: bytes, filename: str) -> httpx.Response:
    return httpx.post(
        f"{server.base_url}{API}/data/import",
        params={"symbol": "TEST", "timeframe": "1h", "filename": filename},
        content=body,
        headers={"Content-Type": "application/octet-stream"},
    )


def _import_operations(server) -> list[dict]:
    response = httpx.get(f"{server.base_url}{API}/operations")
    return [op for op in response.json()["data"] if op["operation_type"] == "data_import"]


def test_a_filename_with_a_nul_byte_is_a_422_and_leaves_no_running_operation(server):
    response = _import(server, (HEADER + "2020-01-01 00:00,1,2,0.5,1.5,10\n").encode(), "a\x00.csv")

    assert response.status_code == 422
    assert response.json()["error"]["code"] == "validation_error"
    assert "NUL" in response.json()["error"]["message"]
    assert all(op["status"] != "running" for op in _import_operations(server))


def test_a_bad_row_fails_the_operation_with_the_clients_file_name(server):
    body = (HEADER + "2020-01-01 00:00,1,abc,0.5,1.5,10\n").encode()

    response = _import(server, body, "bars.csv")

    assert response.status_code == 422
    assert "bars.csv" in response.json()["error"]["message"]
    [operation] = _import_operations(server)
    assert operation["status"] == "failed"
    assert operation["error_message"] == response.json()["error"]["message"]


def test_a_good_file_completes_the_operation(server):
    rows = "".join(f"2020-01-01 {h:02d}:00,1,2,0.5,1.5,10\n" for h in range(24))

    response = _import(server, (HEADER + rows).encode(), "bars.csv")

    assert response.status_code == 200, response.text
    assert response.json()["data"]["bars"] == 24
    [operation] = _import_operations(server)
    assert operation["status"] == "completed"
    assert operation["operation_id"] == response.json()["operation_id"]
