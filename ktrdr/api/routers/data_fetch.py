"""POST /data/fetch, POST /data/update, GET /data/check: data from sources (DESIGN §14)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field
from starlette.concurrency import run_in_threadpool

from ktrdr.api.deps import ServicesDep
from ktrdr.api.envelope import Envelope, ok
from ktrdr.data.calendars import check_dataset
from ktrdr.data.fetch import FetchRequest

router = APIRouter(prefix="/data", tags=["data"])


class FetchBody(BaseModel):
    """What to fetch; ``name`` is the stored symbol (``--as``), ``base_url`` a mirror's host."""

    model_config = ConfigDict(extra="forbid")

    symbol: str = Field(examples=["BTC/USDT"])
    source: str = Field(examples=["ccxt:binance", "yfinance"])
    timeframe: str = Field(examples=["1h"])
    start: str | None = Field(default=None, examples=["2021-01-01"])
    end: str | None = None
    name: str | None = None
    base_url: str | None = None


class UpdateBody(BaseModel):
    """Which fetched data sets to bring up to now: one symbol's, or all of them."""

    model_config = ConfigDict(extra="forbid")

    symbol: str | None = None


@router.post("/fetch", status_code=202, response_model=Envelope[dict[str, str]])
def fetch_data(body: FetchBody, services: ServicesDep) -> JSONResponse:
    """Check the request, start a ``data_fetch`` operation; 202 with its ``operation_id``."""
    operation_id = services.fetch.start(FetchRequest(**body.model_dump()))
    return ok({"operation_id": operation_id}, status_code=202, operation_id=operation_id)


@router.post("/update", status_code=202, response_model=Envelope[dict[str, list[str]]])
def update_data(body: UpdateBody, services: ServicesDep) -> JSONResponse:
    """Start a fetch up to now of every fetched data set (or one symbol's); their ids."""
    operation_ids = services.fetch.update(body.symbol)
    return ok({"operation_ids": operation_ids}, status_code=202)


@router.get("/check", response_model=Envelope[dict[str, Any]])
async def check_data(
    services: ServicesDep, symbol: str, timeframe: str, calendar: str | None = None
) -> JSONResponse:
    """Missing bars against the calendar, zero-volume runs and duplicates fixed on merge."""
    report = await run_in_threadpool(check_dataset, services.data, symbol, timeframe, calendar)
    return ok(report)
