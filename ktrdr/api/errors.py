"""The one place where errors become HTTP responses with the error envelope (DESIGN §5).

=========================================  ======  ==============================
raised                                     status  ``error.code``
=========================================  ======  ==============================
``KtrdrError`` (and subclasses)            its     its ``code``
request parameter / body fails validation  422     ``validation_error``
unknown route / method not allowed         404/405 ``not_found`` / ``method_not_allowed``
anything else                              500     ``internal_error`` (logged, not leaked)
=========================================  ======  ==============================
"""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from ktrdr.errors import KtrdrError, ValidationError

logger = logging.getLogger(__name__)

_HTTP_CODES = {404: "not_found", 405: "method_not_allowed"}


def error_response(
    status_code: int,
    code: str,
    message: str,
    details: dict[str, Any] | None = None,
    headers: dict[str, str] | None = None,
) -> JSONResponse:
    """An error envelope ``{"success": false, "error": {code, message, details}}``."""
    body = {"success": False, "error": {"code": code, "message": message, "details": details or {}}}
    return JSONResponse(jsonable_encoder(body), status_code=status_code, headers=headers)


def ktrdr_error_response(exc: KtrdrError, headers: dict[str, str] | None = None) -> JSONResponse:
    """The envelope of a domain error, with the error's own HTTP status."""
    return error_response(exc.http_status, exc.code, exc.message, exc.details, headers)


def install_error_handlers(app: FastAPI) -> None:
    """Map domain errors, validation failures and unknown routes to envelopes on ``app``."""
    app.add_exception_handler(KtrdrError, _on_ktrdr_error)  # type: ignore[arg-type]
    app.add_exception_handler(RequestValidationError, _on_validation_error)  # type: ignore[arg-type]
    app.add_exception_handler(StarletteHTTPException, _on_http_exception)  # type: ignore[arg-type]


async def _on_ktrdr_error(request: Request, exc: KtrdrError) -> JSONResponse:
    if exc.http_status == 503:
        logger.warning("%s %s unavailable: %s", request.method, request.url.path, exc)
    elif exc.http_status >= 500:
        logger.error("%s %s failed: %s", request.method, request.url.path, exc, exc_info=exc)
    else:
        logger.debug("%s %s refused (%s): %s", request.method, request.url.path, exc.code, exc)
    return ktrdr_error_response(exc)


async def _on_validation_error(request: Request, exc: RequestValidationError) -> JSONResponse:
    problems = [_describe(error) for error in exc.errors()]
    message = "; ".join(f"{p['parameter']}: {p['message']}" for p in problems)
    logger.debug("%s %s refused: %s", request.method, request.url.path, message)
    return ktrdr_error_response(ValidationError(message, details={"errors": problems}))


async def _on_http_exception(request: Request, exc: StarletteHTTPException) -> JSONResponse:
    code = _HTTP_CODES.get(exc.status_code, "http_error")
    if exc.status_code == 404:
        message = f"no endpoint {request.method} {request.url.path}"
    elif exc.status_code == 405:
        message = f"method {request.method} is not allowed on {request.url.path}"
    else:
        message = str(exc.detail)
    return error_response(exc.status_code, code, message, headers=exc.headers)


def _describe(error: Any) -> dict[str, Any]:
    """One pydantic error as ``{parameter, location, message, input}``; e.g. limit: >= 1."""
    location, *path = [str(part) for part in error.get("loc", ())] or ["request"]
    ctx = error.get("ctx") or {}
    if error.get("type") == "enum" and "expected" in ctx:
        choices = str(ctx["expected"]).replace("'", "").replace(" or ", ", ")
        message = f"must be one of {choices}"
    else:
        text = str(error.get("msg", "is invalid"))
        message = text[:1].lower() + text[1:]
    if "input" in error and error.get("type") != "missing":
        message = f"{message} (got {error['input']!r})"
    return {
        "parameter": ".".join(path) or location,
        "location": location,
        "message": message,
        "input": jsonable_encoder(error.get("input")),
    }


class UnhandledErrorMiddleware:
    """Answer any unexpected exception with a generic 500 envelope, logging the traceback."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def tracking_send(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, receive, tracking_send)
        except Exception:
            logger.exception("unhandled error on %s %s", scope["method"], scope["path"])
            if started:
                raise
            response = error_response(500, "internal_error", "internal server error; see the log")
            await response(scope, receive, send)
