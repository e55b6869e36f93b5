"""POST /training/start: train a strategy's model as a ``training`` operation (DESIGN §5)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field

from ktrdr.api.deps import ServicesDep
from ktrdr.api.envelope import Envelope, ok
from ktrdr.errors import TransientError
from ktrdr.strategy import MAX_SEED

router = APIRouter(prefix="/training", tags=["training"])


class TrainingRequest(BaseModel):
    """What to train: a strategy (catalog name or object) and optional overrides."""

    model_config = ConfigDict(extra="forbid")

    strategy: str | dict[str, Any]
    symbols: list[str] | None = None
    timeframes: list[str] | None = None
    start_date: str | None = None
    end_date: str | None = None
    seed: int | None = Field(default=None, ge=0, le=MAX_SEED)


@router.post("/start", status_code=202, response_model=Envelope[dict[str, str]])
def start_training(body: TrainingRequest, services: ServicesDep) -> JSONResponse:
    """Check the request, start the training job; 202 with its ``operation_id``."""
    if services.training is None:
        raise TransientError("training is unavailable: this server runs without workers")
    training = services.training
    started = training.start_training(
        training.resolve_strategy(body.strategy),
        symbols=body.symbols,
        timeframes=body.timeframes,
        start_date=body.start_date,
        end_date=body.end_date,
        seed=body.seed,
    )
    operation_id = started["operation_id"]
    return ok({"operation_id": operation_id}, status_code=202, operation_id=operation_id)
