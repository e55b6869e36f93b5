"""GET /health: liveness plus the state of the store and the executor."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from fastapi.responses import JSONResponse
from sqlalchemy import text

import ktrdr
from ktrdr.api.deps import ServicesDep
from ktrdr.api.envelope import Envelope, ok
from ktrdr.api.services import Services
from ktrdr.errors import TransientError
from ktrdr.operations.database import read_connection

router = APIRouter(tags=["health"])


@router.get("/health", response_model=Envelope[dict[str, Any]])
def health(services: ServicesDep) -> JSONResponse:
    """Report ``status: ok``, the version, whether the store answers, and the executor state."""
    executor = services.executor.status() if services.executor is not None else None
    return ok(
        {
            "status": "ok",
            "version": ktrdr.__version__,
            "store": _store_status(services),
            "executor": executor,
        }
    )


def _store_status(services: Services) -> dict[str, Any]:
    engine = services.operations.store.engine
    try:
        with read_connection(engine) as conn:
            conn.execute(text("SELECT 1"))
        store_ok = True
    except TransientError:
        store_ok = False
    return {"ok": store_ok, "backend": engine.dialect.name}
