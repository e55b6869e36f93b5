"""Request guards: an optional bearer token and a cap on request body size (DESIGN §5)."""

from __future__ import annotations

import logging
import secrets
from collections.abc import Mapping

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from ktrdr.api.errors import ktrdr_error_response
from ktrdr.errors import AuthenticationError, PayloadTooLargeError

logger = logging.getLogger(__name__)

DEFAULT_SETTING = "KTRDR_MAX_REQUEST_BYTES"


class BearerTokenMiddleware:
    """Refuse every request without ``Authorization: Bearer <token>``, but ``open_routes``
    (method, path) and GETs of paths under ``open_prefixes`` (the page's static files)."""

    def __init__(
        self,
        app: ASGIApp,
        *,
        token: str,
        open_routes: frozenset[tuple[str, str]],
        open_prefixes: tuple[str, ...] = (),
    ) -> None:
        self.app = app
        self._token = token.encode()
        self._open_routes = open_routes
        self._open_prefixes = open_prefixes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        if (scope["method"], scope["path"]) in self._open_routes:
            # Open routes answer everyone, but say less to callers without the token.
            scope.setdefault("state", {})["authenticated"] = self._authorised(scope)
            await self.app(scope, receive, send)
            return
        if scope["method"] == "GET" and scope["path"].startswith(self._open_prefixes):
            await self.app(scope, receive, send)
            return
        if self._authorised(scope):
            await self.app(scope, receive, send)
            return
        logger.debug("refused %s %s: missing or wrong bearer token", scope["method"], scope["path"])
        error = AuthenticationError("missing or invalid bearer token: send Authorization: Bearer …")
        response = ktrdr_error_response(error, headers={"WWW-Authenticate": "Bearer"})
        await response(scope, receive, send)

    def _authorised(self, scope: Scope) -> bool:
        header = next((v for k, v in scope["headers"] if k == b"authorization"), b"")
        scheme, _, credential = header.partition(b" ")
        # compare_digest takes the same time wherever the first differing byte is.
        return scheme.lower() == b"bearer" and secrets.compare_digest(
            credential.strip(), self._token
        )


class BodySizeLimitMiddleware:
    """Answer 413 when a request body exceeds its limit, declared or streamed.

    ``path_limits`` maps a path to its own (limit, setting that raises it), e.g. the data import
    to (256 MiB, "KTRDR_MAX_UPLOAD_BYTES"); every other path gets ``max_bytes``.
    """

    def __init__(
        self,
        app: ASGIApp,
        *,
        max_bytes: int,
        path_limits: Mapping[str, tuple[int, str]] | None = None,
    ) -> None:
        self.app = app
        self.max_bytes = max_bytes
        self.path_limits = dict(path_limits or {})

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit, setting = self.path_limits.get(scope["path"], (self.max_bytes, DEFAULT_SETTING))
        declared = next((v for k, v in scope["headers"] if k == b"content-length"), None)
        if declared is not None and declared.isdigit() and int(declared) > limit:
            await _refuse(limit, setting, scope, receive, send)
            return
        # Buffer the body (at most the limit) so a chunked upload is measured before the app runs.
        chunks: list[bytes] = []
        size = 0
        more_body = True
        while more_body:
            message = await receive()
            if message["type"] != "http.request":
                await self.app(scope, _replay([message], receive), send)
                return
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > limit:
                await _refuse(limit, setting, scope, receive, send)
                return
            chunks.append(chunk)
            more_body = message.get("more_body", False)
        body = {"type": "http.request", "body": b"".join(chunks), "more_body": False}
        await self.app(scope, _replay([body], receive), send)


async def _refuse(limit: int, setting: str, scope: Scope, receive: Receive, send: Send) -> None:
    error = PayloadTooLargeError(
        f"request body exceeds the limit of {limit} bytes ({setting})",
        details={"max_bytes": limit},
    )
    await ktrdr_error_response(error, headers={"Connection": "close"})(scope, receive, send)


def _replay(messages: list[Message], receive: Receive) -> Receive:
    """A ``receive`` that hands out ``messages`` first, then defers to the real one."""
    pending = list(messages)

    async def replay() -> Message:
        return pending.pop(0) if pending else await receive()

    return replay
