"""The response envelope: ``{"success": true, "data": ...}`` and its error twin (DESIGN §5)."""

from __future__ import annotations

from typing import Any, Generic, Literal, TypeVar

from fastapi.responses import JSONResponse
from pydantic import BaseModel

T = TypeVar("T")


class Envelope(BaseModel, Generic[T]):
    """A successful answer."""

    success: Literal[True] = True
    data: T


class PageEnvelope(Envelope[T], Generic[T]):
    """A successful listing: one page of rows and the count of every match."""

    total_count: int


class ErrorBody(BaseModel):
    """What went wrong: a stable machine-readable ``code`` and a message for people."""

    code: str
    message: str
    details: dict[str, Any] = {}


class ErrorEnvelope(BaseModel):
    """A failed answer."""

    success: Literal[False] = False
    error: ErrorBody


ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    status: {"model": ErrorEnvelope} for status in (401, 404, 409, 413, 422, 500)
}


def ok(data: Any, *, status_code: int = 200, **extra: Any) -> JSONResponse:
    """A success envelope around JSON-ready ``data`` (plus top-level ``extra`` keys)."""
    return JSONResponse({"success": True, "data": data, **extra}, status_code=status_code)
