"""GET /trials: the recorded walk-forward evaluations every statistic counts (DESIGN §11)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query
from fastapi.responses import JSONResponse

from ktrdr.api.deps import OffsetQuery, ServicesDep
from ktrdr.api.envelope import PageEnvelope, ok
from ktrdr.operations import MAX_PAGE_SIZE

router = APIRouter(prefix="/trials", tags=["trials"])


@router.get("", response_model=PageEnvelope[list[dict[str, Any]]])
def list_trials(
    services: ServicesDep,
    symbol: str | None = None,
    timeframe: str | None = None,
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE_SIZE)] = 100,
    offset: OffsetQuery = 0,
) -> JSONResponse:
    """Trials newest first (per-bar Sharpe, moments, trades); ``total_count`` counts matches."""
    trials, total = services.trials.page(symbol, timeframe, limit=limit, offset=offset)
    return ok([trial.to_dict() for trial in trials], total_count=total)
