"""POST /holdout/evaluate and GET /holdout/evaluations: counted looks at the holdout (§11)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict

from ktrdr.api.deps import ServicesDep
from ktrdr.api.envelope import Envelope, ok
from ktrdr.errors import TransientError
from ktrdr.evaluation.holdout import HoldoutService

router = APIRouter(prefix="/holdout", tags=["holdout"])


class HoldoutRequest(BaseModel):
    """Which model meets the holdout: a bundle folder or a strategy name (its newest model)."""

    model_config = ConfigDict(extra="forbid")

    model: str


def _holdout(services: ServicesDep) -> HoldoutService:
    if services.holdout is None:
        raise TransientError(
            "holdout evaluations are unavailable: this server runs without workers"
        )
    return services.holdout


@router.post("/evaluate", response_model=Envelope[dict[str, Any]])
def evaluate(body: HoldoutRequest, services: ServicesDep) -> JSONResponse:
    """The model's holdout evaluation: the stored one (200), or one whose backtest this call
    started (202: a new counted look, or the rerun of one that never completed)."""
    evaluation, started = _holdout(services).look(body.model)
    status = 202 if started else 200
    return ok(evaluation, status_code=status, operation_id=evaluation["operation_id"])


@router.get("/evaluations", response_model=Envelope[list[dict[str, Any]]])
def list_evaluations(services: ServicesDep) -> JSONResponse:
    """Every holdout evaluation, newest first, each with its look number and result."""
    return ok(_holdout(services).list())
