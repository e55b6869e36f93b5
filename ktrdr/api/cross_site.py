"""Cross-site defences: a Host allow-list, an Origin check and no body a form could send.

A page in the user's browser can send "simple" requests to a loopback server: POSTs with
``text/plain``, ``application/x-www-form-urlencoded`` or ``multipart/form-data`` bodies, no
preflight. Browsers always add ``Origin`` to such cross-site POSTs, so those are refused when
the origin is not the server's own; a POST must also name a content type the API reads, even
with an empty body (an empty POST can start a research cycle). The Host allow-list stops DNS
rebinding (a foreign name resolving to 127.0.0.1).
"""

from __future__ import annotations

from collections.abc import Collection, Mapping

from starlette.types import ASGIApp, Receive, Scope, Send

from ktrdr.api.errors import error_response

BODY_TYPES = frozenset({"application/json", "multipart/form-data"})
PAGE_HEADERS = {
    "X-Frame-Options": "DENY",
    "Content-Security-Policy": (
        "default-src 'self'; script-src 'self' 'unsafe-inline'; style-src 'self' "
        "'unsafe-inline'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
}


class CrossSiteGuardMiddleware:
    """Refuse foreign ``Host`` names (400), foreign ``Origin``s (403) and form bodies (415).

    ``path_body_types`` adds content types for one path, e.g. ``text/csv`` for the data import.
    """

    def __init__(
        self,
        app: ASGIApp,
        *,
        allowed_hosts: Collection[str],
        allowed_origins: Collection[str] = (),
        path_body_types: Mapping[str, Collection[str]] | None = None,
    ) -> None:
        self.app = app
        self.allowed_hosts = {host.lower().strip("[]") for host in allowed_hosts}
        self.allowed_origins = {origin.rstrip("/").lower() for origin in allowed_origins}
        self.path_body_types = {
            path: frozenset(kinds) for path, kinds in (path_body_types or {}).items()
        }

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = {
            key.decode("latin-1"): value.decode("latin-1") for key, value in scope["headers"]
        }
        refusal = self._refusal(scope, headers)
        if refusal is not None:
            await refusal(scope, receive, send)
            return
        await self.app(scope, receive, send)

    def _refusal(self, scope: Scope, headers: dict[str, str]):  # type: ignore[no-untyped-def]
        host = headers.get("host", "")
        if "*" not in self.allowed_hosts and _host_name(host) not in self.allowed_hosts:
            return error_response(
                400,
                "host_not_allowed",
                f"Host {host[:100]!r} is not served here; add it to KTRDR_ALLOWED_HOSTS",
            )
        origin = headers.get("origin")
        own = f"{scope.get('scheme', 'http')}://{host}".lower()
        if origin is not None and origin.rstrip("/").lower() not in {own, *self.allowed_origins}:
            return error_response(
                403,
                "cross_origin_refused",
                f"requests from origin {origin[:100]!r} are refused; list it in "
                "KTRDR_CORS_ORIGINS to allow it",
            )
        # PUT, PATCH and DELETE are never "simple": browsers preflight them cross-site.
        if scope["method"] == "POST" and not self._readable_body(scope, headers):
            allowed = sorted(BODY_TYPES | self.path_body_types.get(scope["path"], frozenset()))
            kind = headers.get("content-type", "")[:100]
            return error_response(
                415,
                "unsupported_media_type",
                f"{scope['method']} {scope['path']} needs Content-Type one of "
                f"{', '.join(allowed)}; got {kind or 'none'!r}",
                details={"allowed": allowed},
            )
        return None

    def _readable_body(self, scope: Scope, headers: dict[str, str]) -> bool:
        kind = headers.get("content-type", "").split(";", 1)[0].strip().lower()
        return kind in BODY_TYPES or kind in self.path_body_types.get(scope["path"], ())


def _host_name(host: str) -> str:
    """``Host`` without its port: ``127.0.0.1:8000`` -> ``127.0.0.1``, ``[::1]:80`` -> ``::1``."""
    host = host.strip().lower()
    if host.startswith("["):
        return host[1 : host.find("]")] if "]" in host else host
    return host.rsplit(":", 1)[0] if host.count(":") == 1 else host


def page_headers() -> dict[str, str]:
    """Headers of the web page: no framing, scripts and requests only from this server."""
    return dict(PAGE_HEADERS)
