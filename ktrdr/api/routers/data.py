"""GET /data and POST /data/import: the stored market data and adding to it (DESIGN §5)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict
from starlette.concurrency import run_in_threadpool

from ktrdr.api.deps import ServicesDep
from ktrdr.api.envelope import Envelope, ok
from ktrdr.data import canonical_symbol, canonical_timeframe, dataset_dict, import_upload

router = APIRouter(prefix="/data", tags=["data"])


@router.get("", response_model=Envelope[list[dict[str, Any]]])
def list_data(services: ServicesDep) -> JSONResponse:
    """Every stored data set: symbol, timeframe, bars, first and last bar, source, provenance."""
    return ok([dataset_dict(info) for info in services.data.list()])


@router.post("/import", status_code=200, response_model=Envelope[dict[str, Any]])
async def import_data(
    request: Request,
    services: ServicesDep,
    symbol: str,
    timeframe: str,
    filename: str = "upload.csv",
) -> JSONResponse:
    """Store the request body (a CSV or Parquet file) as ``symbol`` at ``timeframe``.

    The body is the raw file (``Content-Type: text/csv`` or ``application/octet-stream``);
    ``filename``'s suffix says how to read it. Runs as a ``data_import`` operation; a bad file
    answers 422 naming the row and leaves the stored data as it was.
    """
    content = await request.body()
    info, operation_id = await run_in_threadpool(
        import_upload,
        services.data,
        services.operations,
        content,
        filename,
        canonical_symbol(symbol),
        canonical_timeframe(timeframe),
    )
    return ok(info, operation_id=operation_id)


class WindowResetRequest(BaseModel):
    """Where the data set's holdout starts from now on (its first bar at or after this time)."""

    model_config = ConfigDict(extra="forbid")

    holdout_start: str


@router.get("/windows", response_model=Envelope[list[dict[str, Any]]])
def list_windows(services: ServicesDep) -> JSONResponse:
    """Every frozen data window: research span, sealed holdout, when frozen, holdout looks, and
    its trials at this holdout (``n_trials``, ``trials_sharpe_variance``, ``pbo``)."""
    return ok(
        [
            {
                **window.to_dict(),
                **services.trials.data_set(
                    window.symbol, window.timeframe, window.holdout_start
                ).to_dict(),
            }
            for window in services.windows.list()
        ]
    )


@router.post("/windows/{symbol}/{timeframe}/reset", response_model=Envelope[dict[str, Any]])
def reset_window(
    symbol: str, timeframe: str, body: WindowResetRequest, services: ServicesDep
) -> JSONResponse:
    """Move a data set's holdout start (logged; its look count starts afresh)."""
    window = services.windows.reset(symbol, timeframe, body.holdout_start)
    return ok(window.to_dict())
