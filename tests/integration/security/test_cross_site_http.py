"""Finding 3: no cross-site writes, no foreign Host names, no framing of the page."""

from __future__ import annotations

import httpx
import pytest
from support.bars import random_walk_bars

API = "/api/v1"
VALID_YAML_BODY = {"yaml": "name: x\n"}


@pytest.fixture
def server(live_server):
    return live_server


def test_a_text_plain_import_is_refused_and_the_data_is_unchanged(server):
    before = httpx.get(f"{server.base_url}{API}/data").json()["data"]

    response = httpx.post(
        f"{server.base_url}{API}/data/import",
        params={"symbol": "EURUSD", "timeframe": "1h", "filename": "bars.csv"},
        content=b"timestamp,open,high,low,close,volume\n",
        headers={"Content-Type": "text/plain"},
    )

    assert response.status_code == 415
    assert response.json()["error"]["code"] == "unsupported_media_type"
    assert httpx.get(f"{server.base_url}{API}/data").json()["data"] == before


@pytest.mark.parametrize("kind", ["text/plain", "application/x-www-form-urlencoded", None])
def test_a_post_without_a_json_or_multipart_body_is_415(server, kind):
    headers = {"Content-Type": kind} if kind else {}

    response = httpx.post(
        f"{server.base_url}{API}/strategies/validate", content=b'{"yaml": "x"}', headers=headers
    )

    assert response.status_code == 415


def test_a_post_from_a_foreign_origin_is_403(server):
    response = httpx.post(
        f"{server.base_url}{API}/strategies/validate",
        json=VALID_YAML_BODY,
        headers={"Origin": "http://evil.example"},
    )

    assert response.status_code == 403
    assert response.json()["error"]["code"] == "cross_origin_refused"


def test_a_post_from_the_servers_own_origin_is_served(server):
    response = httpx.post(
        f"{server.base_url}{API}/strategies/validate",
        json=VALID_YAML_BODY,
        headers={"Origin": server.base_url},
    )

    assert response.status_code == 200


def test_a_foreign_host_name_is_refused(server):
    response = httpx.get(f"{server.base_url}{API}/operations", headers={"Host": "evil.example"})

    assert response.status_code == 400
    assert response.json()["error"]["code"] == "host_not_allowed"


def test_an_allowed_host_name_is_served(start_live_server):
    server = start_live_server(allowed_hosts=["ktrdr.lan"])

    response = httpx.get(f"{server.base_url}{API}/operations", headers={"Host": "ktrdr.lan:80"})

    assert response.status_code == 200


def test_the_page_cannot_be_framed(server):
    response = httpx.get(f"{server.base_url}/")

    assert response.status_code == 200
    assert response.headers["x-frame-options"] == "DENY"
    assert "frame-ancestors 'none'" in response.headers["content-security-policy"]


def test_a_csv_upload_with_an_explicit_type_still_imports(server):
    csv = random_walk_bars(50).to_csv().encode()

    response = httpx.post(
        f"{server.base_url}{API}/data/import",
        params={"symbol": "EURUSD", "timeframe": "1h", "filename": "bars.csv"},
        content=csv,
        headers={"Content-Type": "text/csv"},
    )

    assert response.status_code == 200
