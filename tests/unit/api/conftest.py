"""Fixtures for API unit tests: an in-process app over a temp SQLite store."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from support.server import LOOPBACK

from ktrdr.api import Services, build_services, create_app
from ktrdr.settings import Settings


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(home=tmp_path / "home", database_url=None, api_token=None, cors_origins=[])


@pytest.fixture
def services(settings: Settings) -> Iterator[Services]:
    built = build_services(settings, with_executor=False)
    yield built
    built.close()


@pytest.fixture
def client(settings: Settings, services: Services) -> Iterator[TestClient]:
    with TestClient(create_app(settings, services=services), base_url=LOOPBACK) as test_client:
        yield test_client
