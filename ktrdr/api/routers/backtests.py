"""POST /backtests/start: backtest a trained model as a ``backtesting`` operation (DESIGN §5)."""

from __future__ import annotations

from typing import Any, Literal

from fastapi import APIRouter
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict

from ktrdr.api.deps import ServicesDep
from ktrdr.api.envelope import Envelope, ok
from ktrdr.errors import TransientError

router = APIRouter(prefix="/backtests", tags=["backtests"])


class BacktestRequest(BaseModel):
    """What to backtest: a model bundle folder or a strategy name (its newest model)."""

    model_config = ConfigDict(extra="forbid")

    model_path: str
    symbol: str | None = None
    timeframe: str | None = None
    start_date: str | None = None
    end_date: str | None = None
    costs: dict[str, Any] | None = None
    mode: Literal["walk_forward", "range"] | None = None
    allow_in_sample: bool = False


@router.post("/start", status_code=202, response_model=Envelope[dict[str, str]])
def start_backtest(body: BacktestRequest, services: ServicesDep) -> JSONResponse:
    """Check the request (model, symbol, mode, range), start the job; 202.

    No dates: the walk-forward backtest of the model's folds. Dates: a range before the
    holdout, refused when in-sample unless ``allow_in_sample`` (the result says ``in_sample``).
    """
    if services.backtesting is None:
        raise TransientError("backtesting is unavailable: this server runs without workers")
    started = services.backtesting.start_backtest(
        body.model_path,
        symbol=body.symbol,
        timeframe=body.timeframe,
        start_date=body.start_date,
        end_date=body.end_date,
        costs=body.costs,
        mode=body.mode,
        allow_in_sample=body.allow_in_sample,
    )
    operation_id = started["operation_id"]
    return ok({"operation_id": operation_id}, status_code=202, operation_id=operation_id)
