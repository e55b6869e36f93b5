"""create_app: services injected or built from settings, CORS, lifespan."""

from __future__ import annotations

from fastapi.testclient import TestClient
from support.server import LOOPBACK

from ktrdr.api import API_PREFIX, build_services, create_app
from ktrdr.settings import Settings


def test_create_app_builds_services_from_settings_and_creates_home(tmp_path):
    home = tmp_path / "new" / "home"
    settings = Settings(home=home, database_url=None, api_token=None)

    with TestClient(create_app(settings), base_url=LOOPBACK) as client:
        body = client.get(f"{API_PREFIX}/health").json()

    assert body["data"]["store"]["ok"] is True
    assert (home / "ktrdr.db").exists()


def test_injected_services_are_the_ones_the_routers_use(client, services):
    op_id = services.operations.create("training").operation_id

    body = client.get(f"{API_PREFIX}/operations/{op_id}").json()

    assert body["data"]["operation_id"] == op_id


def test_injected_services_stay_open_after_shutdown(settings, services):
    with TestClient(create_app(settings, services=services), base_url=LOOPBACK):
        pass

    assert services.operations.list().total_count == 0


def test_health_reports_the_executor_status_when_there_is_one(settings, services):
    class FakeExecutor:
        def health(self) -> dict[str, int]:
            return {"workers": 2, "running": 0}

        def shutdown(self, wait: bool = True) -> None:
            """Nothing to stop."""

    services.executor = FakeExecutor()
    with TestClient(create_app(settings, services=services), base_url=LOOPBACK) as client:
        body = client.get(f"{API_PREFIX}/health").json()

    assert body["data"]["executor"] == {"workers": 2, "running": 0}


def test_cors_is_off_by_default_and_on_for_configured_origins(tmp_path):
    origin = "http://localhost:3000"
    preflight = {"Origin": origin, "Access-Control-Request-Method": "GET"}
    plain = Settings(home=tmp_path / "a", database_url=None, api_token=None, cors_origins=[])
    cors = Settings(home=tmp_path / "b", database_url=None, api_token=None, cors_origins=[origin])

    with TestClient(create_app(plain), base_url=LOOPBACK) as client:
        closed = client.get(f"{API_PREFIX}/health", headers={"Origin": origin})
    with TestClient(create_app(cors), base_url=LOOPBACK) as client:
        opened = client.options(f"{API_PREFIX}/operations", headers=preflight)

    assert "access-control-allow-origin" not in closed.headers
    assert opened.headers["access-control-allow-origin"] == origin


def test_build_services_opens_sqlite_under_home_and_close_stops_the_executor(tmp_path):
    stopped = []

    class RecordingExecutor:
        def health(self) -> dict[str, int]:
            return {}

        def shutdown(self, wait: bool = True) -> None:
            stopped.append(wait)

    services = build_services(Settings(home=tmp_path / "h", database_url=None), with_executor=False)
    services.executor = RecordingExecutor()

    services.close()

    assert (tmp_path / "h" / "ktrdr.db").exists()
    assert services.operations.store.engine.dialect.name == "sqlite"
    assert stopped == [False]
