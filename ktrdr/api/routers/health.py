"""GET /health: liveness plus the state of the store and the executor."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

import ktrdr
from ktrdr.api.deps import ServicesDep
from ktrdr.api.envelope import Envelope, ok
from ktrdr.api.services import Services

router = APIRouter(tags=["health"])


@router.get("/health", response_model=Envelope[dict[str, Any]])
def health(request: Request, services: ServicesDep) -> JSONResponse:
    """``status: ok``; with the token (or none set) also the version, store and executor state."""
    if not getattr(request.state, "authenticated", True):
        return ok({"status": "ok"})
    executor = services.executor.health() if services.executor is not None else None
    return ok(
        {
            "status": "ok",
            "version": ktrdr.__version__,
            "store": _store_status(services),
            "executor": executor,
        }
    )


def _store_status(services: Services) -> dict[str, Any]:
    store = services.operations.store
    return {"ok": store.ping(), "backend": store.backend}
