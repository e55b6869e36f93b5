"""GET /operations/{id}/report and /operations/{id}/artifacts/{name} (DESIGN §13)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query
from fastapi.responses import FileResponse, Response

from ktrdr.api.deps import ServicesDep
from ktrdr.reports.artifacts import FORMATS, check_format, encode_artifact

router = APIRouter(prefix="/operations", tags=["reports"])

FormatQuery = Annotated[str, Query(description="parquet, csv or json")]


@router.get(
    "/{operation_id}/report",
    response_class=FileResponse,
    responses={200: {"content": {"text/html": {}}, "description": "the HTML report"}},
)
def get_report(operation_id: str, services: ServicesDep) -> FileResponse:
    """The operation's self-contained HTML report, built from its artifacts if missing.

    404 for an unknown id; 409 ``operation_not_finished`` while it is pending or running (or
    when a backtest or training failed and stored nothing); 400 ``no_report`` for operation
    types without a report.
    """
    path = services.reports.report(operation_id)
    return FileResponse(path, media_type="text/html; charset=utf-8")


@router.get(
    "/{operation_id}/artifacts/{name}",
    responses={200: {"content": {media: {} for media in FORMATS.values()}}},
)
def get_artifact(
    operation_id: str, name: str, services: ServicesDep, format: FormatQuery = "parquet"
) -> Response:
    """One artifact the operation's result lists (trades, equity, history…) as Parquet, CSV or
    JSON records; 404 naming the valid names for any other name, 422 for another format."""
    fmt = check_format(format)
    path = services.reports.artifact_file(operation_id, name)
    return Response(
        encode_artifact(path, fmt),
        media_type=FORMATS[fmt],
        headers={"Content-Disposition": f'attachment; filename="{operation_id}_{name}.{fmt}"'},
    )
