"""GET /experiments: the experiments table (filter, sort, page) and one experiment (DESIGN §13)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query
from fastapi.responses import JSONResponse

from ktrdr.agents.experiment_table import SORT_KEYS, ExperimentQuery, ExperimentTable
from ktrdr.agents.memory import MAX_PAGE_SIZE, ExperimentMemory
from ktrdr.api.deps import OffsetQuery, ServicesDep
from ktrdr.api.envelope import Envelope, PageEnvelope, ok
from ktrdr.api.services import Services
from ktrdr.data import canonical_symbol, canonical_timeframe

router = APIRouter(prefix="/experiments", tags=["experiments"])


def _table(services: Services) -> ExperimentTable:
    return ExperimentTable(ExperimentMemory(services.operations.store.engine), services.operations)


@router.get("", response_model=PageEnvelope[list[dict[str, Any]]])
def list_experiments(
    services: ServicesDep,
    verdict: Annotated[str | None, Query(description="promising | neutral | poor | none")] = None,
    symbol: str | None = None,
    timeframe: str | None = None,
    data_set: Annotated[
        str | None, Query(description="a row's exact data_set, e.g. 'EURUSD+GBPUSD 1h'")
    ] = None,
    status: Annotated[
        str | None, Query(description="completed | gate_failed | failed | cancelled")
    ] = None,
    sort: Annotated[str, Query(description=" | ".join(SORT_KEYS) + "; '-' descending")] = (
        "-created_at"
    ),
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE_SIZE)] = 100,
    offset: OffsetQuery = 0,
) -> JSONResponse:
    """Experiments with metrics, statistics and holdout verdict; ``total_count`` counts matches."""
    query = ExperimentQuery(
        verdict=verdict,
        symbol=canonical_symbol(symbol) if symbol else None,
        timeframe=canonical_timeframe(timeframe) if timeframe else None,
        data_set=data_set,
        status=status,
        sort=sort,
        limit=limit,
        offset=offset,
    )
    rows, total = _table(services).page(query)
    return ok(rows, total_count=total)


@router.get("/{experiment_id}", response_model=Envelope[dict[str, Any]])
def get_experiment(experiment_id: str, services: ServicesDep) -> JSONResponse:
    """One experiment's row plus its walk-forward folds and verdict reason."""
    return ok(_table(services).get(experiment_id))
