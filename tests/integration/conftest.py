"""Integration fixtures: a real ktrdr API server on a free loopback port with a temp home."""

from __future__ import annotations

import itertools
import socket
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Any, NamedTuple

import pytest
import uvicorn

from ktrdr.api import Services, build_services, create_app
from ktrdr.settings import Settings

SERVER_START_TIMEOUT = 30.0


class LiveServer(NamedTuple):
    """A running API: its base URL (``http://127.0.0.1:<port>``) and its in-process services."""

    base_url: str
    services: Services


def make_settings(home: Path, **overrides: Any) -> Settings:
    """Settings isolated from the environment: SQLite in ``home``, no token, no throttling."""
    values: dict[str, Any] = {
        "home": home,
        "database_url": None,
        "api_token": None,
        "cors_origins": [],
        "progress_min_interval": 0.0,
    }
    return Settings(**{**values, **overrides})


@contextmanager
def run_live_server(
    settings: Settings, services: Services | None = None, *, with_executor: bool = False
) -> Iterator[LiveServer]:
    """Serve ``create_app(settings, services=...)`` with uvicorn in a thread until exit."""
    services = services or build_services(settings, with_executor=with_executor)
    app = create_app(settings, services=services)
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, log_config=None, access_log=False))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    try:
        _wait_until_started(server, thread)
        yield LiveServer(f"http://127.0.0.1:{port}", services)
    finally:
        server.should_exit = True
        thread.join(timeout=SERVER_START_TIMEOUT)
        sock.close()
        services.close()


def _wait_until_started(server: uvicorn.Server, thread: threading.Thread) -> None:
    deadline = time.monotonic() + SERVER_START_TIMEOUT
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("the test API server did not start")
        time.sleep(0.01)


@pytest.fixture
def server_settings(tmp_path: Path) -> Settings:
    """Settings of a fresh server: SQLite under a temp KTRDR_HOME."""
    return make_settings(tmp_path / "ktrdr_home")


@pytest.fixture
def live_server(server_settings: Settings) -> Iterator[LiveServer]:
    """A running API server with an empty store; yields ``(base_url, services)``."""
    with run_live_server(server_settings) as server:
        yield server


@pytest.fixture
def start_live_server(tmp_path: Path) -> Iterator[Callable[..., LiveServer]]:
    """Start servers with settings overrides, e.g. ``start_live_server(api_token="t")``."""
    homes = (tmp_path / f"ktrdr_home_{n}" for n in itertools.count())
    with ExitStack() as stack:

        def start(**overrides: Any) -> LiveServer:
            return stack.enter_context(run_live_server(make_settings(next(homes), **overrides)))

        yield start
