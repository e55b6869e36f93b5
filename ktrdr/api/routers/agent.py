"""The /agent endpoints: trigger, status, cancel, budget, history (DESIGN §5).

They answer flat objects (``{"success": true, "operation_id": ..., "phase": ...}``) as ktrdr's
clients read them (``curl .../agent/status | jq .training_op_id``); errors keep the error shape.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Query
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field

from ktrdr.agents import ASSESSORS, DESIGNERS
from ktrdr.api.deps import ServicesDep
from ktrdr.api.services import Services
from ktrdr.errors import ActiveCycleExistsError, BudgetExhaustedError, TransientError
from ktrdr.strategy import MAX_SEED

router = APIRouter(prefix="/agent", tags=["agent"])


class TriggerRequest(BaseModel):
    """Start a research cycle; every field is optional."""

    model_config = ConfigDict(extra="forbid")

    designer: str | None = Field(default=None, description=" | ".join(DESIGNERS))
    assessor: str | None = Field(default=None, description=" | ".join(ASSESSORS))
    model: str | None = Field(default=None, description="LLM model or alias for the designer")
    brief: str | None = Field(default=None, max_length=4000, description="What to research")
    strategy: str | None = Field(default=None, description="Train this strategy, skip design")
    gates: dict[str, float] | None = Field(default=None, description="Gate threshold overrides")
    seed: int | None = Field(default=None, ge=0, le=MAX_SEED)
    symbol: str | None = Field(default=None, description="Market to design for, e.g. BTC-USDT")
    timeframe: str | None = Field(default=None, description="Its timeframe, e.g. 1h")


def _flat(data: dict[str, Any], status_code: int = 200) -> JSONResponse:
    return JSONResponse({"success": True, **data}, status_code=status_code)


def _agent(services: Services) -> Any:
    if services.agent is None:
        raise TransientError("research is unavailable: this server runs without workers")
    return services.agent


@router.post("/trigger", status_code=202)
def trigger(body: TriggerRequest, services: ServicesDep) -> JSONResponse:
    """Start a cycle: 202 ``{triggered, operation_id}``; 409 when one runs or budget is out."""
    try:
        started = _agent(services).trigger(**body.model_dump())
    except (ActiveCycleExistsError, BudgetExhaustedError) as exc:
        refused = {
            "success": False,
            "triggered": False,
            "reason": exc.code,
            "operation_id": exc.details.get("operation_id"),
            "error": exc.to_dict(),
        }
        return JSONResponse(refused, status_code=409)
    return _flat(started, status_code=202)


@router.get("/status")
def status(services: ServicesDep) -> JSONResponse:
    """The active cycle (phase, progress, child ids), every active cycle, and the last one."""
    return _flat(_agent(services).status())


@router.delete("/cancel")
def cancel_active(services: ServicesDep) -> JSONResponse:
    """Cancel the newest active cycle and its current child."""
    return _flat(_agent(services).cancel())


@router.delete("/cancel/{operation_id}")
def cancel(operation_id: str, services: ServicesDep) -> JSONResponse:
    """Cancel the given cycle and its current child."""
    return _flat(_agent(services).cancel(operation_id))


@router.get("/budget")
def budget(services: ServicesDep) -> JSONResponse:
    """The daily LLM budget: limit, spent today, remaining."""
    return _flat(_agent(services).budget())


@router.get("/history")
def history(services: ServicesDep, limit: int = Query(default=20, ge=1, le=1000)) -> JSONResponse:
    """The most recent experiments, newest first."""
    return _flat({"experiments": _agent(services).history(limit)})
