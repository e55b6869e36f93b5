"""Importing an uploaded bars file as a ``data_import`` operation that always ends terminal."""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

from ktrdr.data.io import SUFFIXES
from ktrdr.data.repository import DataRepository, DatasetInfo
from ktrdr.errors import KtrdrError, ValidationError
from ktrdr.operations import OperationsService, OperationType


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


def upload_name(filename: str) -> str:
    """The file's base name; it must be a plain name with a suffix the reader knows."""
    if "\x00" in filename:
        raise ValidationError(
            f"filename {filename!r}: contains a NUL character", details={"filename": filename}
        )
    name = Path(filename.replace("\\", "/")).name
    if Path(name).suffix.lower() not in SUFFIXES:
        raise ValidationError(
            f"filename {filename!r}: unsupported file type; allowed: {', '.join(SUFFIXES)}",
            details={"filename": filename, "allowed": list(SUFFIXES)},
        )
    return name


def import_upload(
    data: DataRepository,
    operations: OperationsService,
    content: bytes,
    filename: str,
    symbol: str,
    timeframe: str,
) -> tuple[dict[str, Any], str]:
    """Store ``content`` (the bytes of ``filename``) as ``symbol``/``timeframe``.

    Returns the data set as JSON and the ``data_import`` operation id. Bad input raises a
    ``KtrdrError`` naming the file as the client sent it; once the operation exists, every
    failure fails it with that message, so it never stays ``running``.
    """
    name = upload_name(filename)
    if not content:
        raise ValidationError(f"{name}: the request body is empty; send the file's bytes")
    operation = operations.create(
        OperationType.DATA_IMPORT,
        metadata={"symbol": symbol, "timeframe": timeframe, "parameters": {"filename": name}},
    )
    operation_id = operation.operation_id
    operations.start(operation_id)
    try:
        info = _store(data, content, name, symbol, timeframe)
    except KtrdrError as exc:
        operations.fail(operation_id, exc.message)
        raise
    except Exception as exc:
        operations.fail(operation_id, f"{name}: import failed: {exc}")
        raise
    operations.complete(operation_id, {**info, "filename": name})
    return info, operation_id


def _store(
    data: DataRepository, content: bytes, name: str, symbol: str, timeframe: str
) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="ktrdr-import-") as directory:
        path = Path(directory) / name
        path.write_bytes(content)
        try:
            return dataset_dict(data.import_file(path, symbol, timeframe))
        except KtrdrError as exc:
            raise _renamed(exc, str(path), name) from exc


def _renamed(exc: KtrdrError, temporary: str, name: str) -> KtrdrError:
    """The same error naming the file as the client sent it, not the server's temp copy."""
    details = {
        key: value.replace(temporary, name) if isinstance(value, str) else value
        for key, value in exc.details.items()
    }
    return type(exc)(exc.message.replace(temporary, name), details=details)
