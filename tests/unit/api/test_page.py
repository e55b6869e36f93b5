"""GET /: the web page is served without a token; the data it shows still needs one."""

from __future__ import annotations

from pathlib import Path

from fastapi.testclient import TestClient
from support.server import LOOPBACK

from ktrdr.api import build_services, create_app
from ktrdr.settings import Settings


def test_the_page_is_served_and_its_data_stays_behind_the_token(tmp_path: Path) -> None:
    settings = Settings(home=tmp_path / "home", database_url=None, api_token="s3cret")
    services = build_services(settings, with_executor=False)
    try:
        with TestClient(create_app(settings, services=services), base_url=LOOPBACK) as client:
            page = client.get("/")
            assert page.status_code == 200
            assert page.headers["content-type"].startswith("text/html")
            for element in ('id="operations"', 'id="trigger"', 'id="token"', "/static/js/main.js"):
                assert element in page.text
            assert "/agent/status" in client.get("/static/js/main.js").text
            assert client.get("/api/v1/operations").status_code == 401
            authorised = {"Authorization": "Bearer s3cret"}
            assert client.get("/api/v1/operations", headers=authorised).status_code == 200
    finally:
        services.close()
