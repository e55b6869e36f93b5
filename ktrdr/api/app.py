"""The FastAPI application: routers under ``/api/v1``, envelopes, guards and services."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from fastapi.middleware.cors import CORSMiddleware

import ktrdr
from ktrdr.api.cross_site import CrossSiteGuardMiddleware
from ktrdr.api.envelope import ERROR_RESPONSES
from ktrdr.api.errors import UnhandledErrorMiddleware, install_error_handlers
from ktrdr.api.metrics import router as metrics_router
from ktrdr.api.routers import (
    agent,
    backtests,
    data,
    data_fetch,
    experiments,
    health,
    holdout,
    operations,
    page,
    reports,
    strategies,
    training,
    trials,
)
from ktrdr.api.security import BearerTokenMiddleware, BodySizeLimitMiddleware
from ktrdr.api.services import Services, build_services
from ktrdr.settings import Settings, get_settings

logger = logging.getLogger(__name__)

API_PREFIX = "/api/v1"
ROUTERS = (
    health.router,
    operations.router,
    reports.router,
    data.router,
    data_fetch.router,
    strategies.router,
    training.router,
    backtests.router,
    holdout.router,
    agent.router,
    experiments.router,
    trials.router,
)
UPLOAD_TYPES = ("application/octet-stream", "text/csv", "application/vnd.apache.parquet")
WILDCARD_HOSTS = frozenset({"0.0.0.0", "::", ""})
OPEN_ROUTES = frozenset({("GET", f"{API_PREFIX}/health"), ("GET", "/"), ("GET", "/favicon.ico")})
OPEN_PREFIXES = (f"{page.STATIC_PATH}/",)  # the page's scripts, styles and vendored charts


def create_app(settings: Settings | None = None, *, services: Services | None = None) -> FastAPI:
    """The ktrdr API; given ``services`` are used as they are (and left open at shutdown)."""
    settings = settings or (services.settings if services is not None else get_settings())
    app = FastAPI(
        title="ktrdr",
        version=ktrdr.__version__,
        docs_url=f"{API_PREFIX}/docs",
        redoc_url=None,
        openapi_url=f"{API_PREFIX}/openapi.json",
        lifespan=_lifespan(settings, services),
    )
    if services is not None:
        app.state.services = services
    for router in ROUTERS:
        app.include_router(router, prefix=API_PREFIX, responses=ERROR_RESPONSES)
    app.include_router(metrics_router)
    app.include_router(page.router)
    app.mount(page.STATIC_PATH, page.static_files(), name="static")
    install_error_handlers(app)
    _add_middleware(app, settings)
    return app


def _add_middleware(app: FastAPI, settings: Settings) -> None:
    # Each add wraps the previous: the last added runs first on a request.
    upload_limit = (settings.max_upload_bytes, "KTRDR_MAX_UPLOAD_BYTES")
    app.add_middleware(
        CrossSiteGuardMiddleware,
        allowed_hosts=served_host_names(settings),
        allowed_origins=settings.cors_origins,
        path_body_types={f"{API_PREFIX}/data/import": UPLOAD_TYPES},
    )
    app.add_middleware(
        BodySizeLimitMiddleware,
        max_bytes=settings.max_request_bytes,
        path_limits={f"{API_PREFIX}/data/import": upload_limit},
    )
    if settings.api_token:
        app.add_middleware(
            BearerTokenMiddleware,
            token=settings.api_token,
            open_routes=OPEN_ROUTES,
            open_prefixes=OPEN_PREFIXES,
        )
    if settings.cors_origins:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=settings.cors_origins,
            allow_methods=["GET", "POST", "DELETE"],
            allow_headers=["Authorization", "Content-Type"],
        )
    app.add_middleware(UnhandledErrorMiddleware)


def served_host_names(settings: Settings) -> list[str]:
    """``KTRDR_ALLOWED_HOSTS`` plus the interface the server binds, unless it is a wildcard."""
    bound = [] if settings.api_host in WILDCARD_HOSTS else [settings.api_host]
    return [*settings.allowed_hosts, *bound]


def _lifespan(settings: Settings, given: Services | None):  # type: ignore[no-untyped-def]
    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        if given is not None:
            yield
            return
        services = build_services(settings)
        app.state.services = services
        logger.info("ktrdr API ready: store %s", settings.resolved_database_url)
        try:
            yield
        finally:
            services.close()

    return lifespan
