"""GET/DELETE /operations: list, inspect and cancel operations (DESIGN §3, §5)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query
from fastapi.responses import JSONResponse

from ktrdr.api.deps import OffsetQuery, ServicesDep
from ktrdr.api.envelope import Envelope, PageEnvelope, ok
from ktrdr.operations import MAX_PAGE_SIZE, Operation, OperationStatus, OperationType

router = APIRouter(prefix="/operations", tags=["operations"])


@router.get("", response_model=PageEnvelope[list[Operation]])
def list_operations(
    services: ServicesDep,
    operation_type: OperationType | None = None,
    status: OperationStatus | None = None,
    active_only: bool = False,
    parent: str | None = None,
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE_SIZE)] = 100,
    offset: OffsetQuery = 0,
) -> JSONResponse:
    """Operations newest first; ``total_count`` counts every match, not just this page."""
    page = services.operations.list(
        operation_type=operation_type,
        status=status,
        active_only=active_only,
        parent=parent,
        limit=limit,
        offset=offset,
    )
    return ok([_dump(op) for op in page.items], total_count=page.total_count)


@router.get("/{operation_id}", response_model=Envelope[Operation])
def get_operation(operation_id: str, services: ServicesDep) -> JSONResponse:
    """The full operation, including progress and ``duration_seconds``."""
    return ok(_dump(services.operations.get(operation_id)))


@router.get("/{operation_id}/children", response_model=Envelope[list[Operation]])
def list_children(operation_id: str, services: ServicesDep) -> JSONResponse:
    """The direct children of an operation, newest first."""
    return ok([_dump(op) for op in services.operations.children(operation_id)])


@router.delete("/{operation_id}", response_model=Envelope[dict[str, list[str]]])
def cancel_operation(operation_id: str, services: ServicesDep) -> JSONResponse:
    """Cancel an operation and all its active descendants; 409 if it already ended."""
    return ok({"cancelled": services.operations.cancel(operation_id)})


def _dump(operation: Operation) -> dict[str, Any]:
    return operation.model_dump(mode="json")
