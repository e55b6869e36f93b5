"""The HTTP API: a FastAPI app whose thin routers call the services (DESIGN §5)."""

from __future__ import annotations

from ktrdr.api.app import API_PREFIX, create_app
from ktrdr.api.services import Services, build_services

__all__ = ["API_PREFIX", "Services", "build_services", "create_app"]
