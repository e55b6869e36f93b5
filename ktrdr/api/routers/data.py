"""GET /data and POST /data/import: the stored market data and adding to it (DESIGN §5)."""

from __future__ import annotations

import logging
import tempfile
from pathlib import Path
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool

from ktrdr.api.deps import ServicesDep
from ktrdr.api.envelope import Envelope, ok
from ktrdr.api.services import Services
from ktrdr.data import DatasetInfo, canonical_symbol, canonical_timeframe
from ktrdr.data.io import SUFFIXES
from ktrdr.errors import KtrdrError, ValidationError
from ktrdr.operations import OperationType

logger = logging.getLogger(__name__)

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
    symbol, timeframe = canonical_symbol(symbol), canonical_timeframe(timeframe)
    name = _upload_name(filename)
    content = await request.body()
    if not content:
        raise ValidationError(f"{name}: the request body is empty; send the file's bytes")
    info, operation_id = await run_in_threadpool(
        _run_import, services, content, name, symbol, timeframe
    )
    return ok(info, operation_id=operation_id)


def dataset_dict(info: DatasetInfo) -> dict[str, Any]:
    """A data set as JSON: timestamps in ISO 8601 UTC."""
    return {
        "symbol": info.symbol,
        "timeframe": info.timeframe,
        "bars": info.bars,
        "first": info.first.isoformat(),
        "last": info.last.isoformat(),
        "source": info.source,
        "provenance": info.provenance,
    }


def _upload_name(filename: str) -> str:
    """The file's base name; its suffix must be one the reader knows."""
    name = Path(filename.replace("\\", "/")).name
    if Path(name).suffix.lower() not in SUFFIXES:
        raise ValidationError(
            f"filename {filename!r}: unsupported file type; allowed: {', '.join(SUFFIXES)}",
            details={"filename": filename, "allowed": list(SUFFIXES)},
        )
    return name


def _run_import(
    services: Services, content: bytes, name: str, symbol: str, timeframe: str
) -> tuple[dict[str, Any], str]:
    operations = services.operations
    operation = operations.create(
        OperationType.DATA_IMPORT,
        metadata={"symbol": symbol, "timeframe": timeframe, "parameters": {"filename": name}},
    )
    operation_id = operation.operation_id
    operations.start(operation_id)
    with tempfile.TemporaryDirectory(prefix="ktrdr-import-") as directory:
        path = Path(directory) / name
        path.write_bytes(content)
        try:
            info = dataset_dict(services.data.import_file(path, symbol, timeframe))
        except KtrdrError as exc:
            renamed = _renamed(exc, str(path), name)
            operations.fail(operation_id, renamed.message)
            raise renamed from exc
        except Exception as exc:
            operations.fail(operation_id, f"{name}: import failed: {exc}")
            raise
    operations.complete(operation_id, {**info, "filename": name})
    return info, operation_id


def _renamed(exc: KtrdrError, temporary: str, name: str) -> KtrdrError:
    """The same error naming the file as the client sent it, not the server's temp copy."""
    details = {
        key: value.replace(temporary, name) if isinstance(value, str) else value
        for key, value in exc.details.items()
    }
    return type(exc)(exc.message.replace(temporary, name), details=details)
