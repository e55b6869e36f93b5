"""ApiClient: how the CLI and ``ktrdr.Client`` talk to the API; a failure becomes one line."""

from __future__ import annotations

import logging
from types import TracebackType
from typing import Any

import httpx

logger = logging.getLogger(__name__)

API_PREFIX = "/api/v1"
DEFAULT_TIMEOUT_SECONDS = 30.0
UPLOAD_TIMEOUT_SECONDS = 600.0
CONNECT_TIMEOUT_SECONDS = 5.0


class ApiError(Exception):
    """A request that failed; ``str(error)`` is the one line to show the user."""

    def __init__(self, line: str, *, code: str | None = None, status_code: int | None = None):
        super().__init__(line)
        self.code = code
        self.status_code = status_code


class ApiClient:
    """A thin httpx client for ``<base_url>/api/v1``; answers are the parsed envelopes."""

    def __init__(
        self, base_url: str, *, token: str | None = None, timeout: float = DEFAULT_TIMEOUT_SECONDS
    ) -> None:
        self.base_url = base_url.rstrip("/")
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        self._timeout = timeout
        self._http = httpx.Client(
            base_url=f"{self.base_url}{API_PREFIX}",
            headers=headers,
            timeout=httpx.Timeout(timeout, connect=CONNECT_TIMEOUT_SECONDS),
        )

    def get(self, path: str, params: dict[str, Any] | None = None) -> dict[str, Any]:
        """GET ``path``; ``None`` params are left out."""
        clean = {k: v for k, v in (params or {}).items() if v is not None}
        return self._request("GET", path, params=clean)

    def post(self, path: str, json: Any = None) -> dict[str, Any]:
        """POST ``json`` to ``path``, always as ``application/json`` (the server refuses others)."""
        return self._request("POST", path, json=json, headers={"Content-Type": "application/json"})

    def post_content(
        self, path: str, content: bytes, *, params: dict[str, Any] | None = None
    ) -> dict[str, Any]:
        """POST raw bytes (a file upload) to ``path``, with an upload-sized timeout."""
        return self._request(
            "POST",
            path,
            params=params,
            content=content,
            headers={"Content-Type": "application/octet-stream"},
            timeout=httpx.Timeout(UPLOAD_TIMEOUT_SECONDS, connect=CONNECT_TIMEOUT_SECONDS),
        )

    def get_content(self, path: str, params: dict[str, Any] | None = None) -> bytes:
        """GET ``path`` and return the body as it is (an HTML report, a Parquet file)."""
        clean = {k: v for k, v in (params or {}).items() if v is not None}
        response = self._send("GET", path, params=clean)
        if response.is_error:
            _envelope(response)  # raises the ApiError of the error envelope
        return response.content

    def url_of(self, path: str) -> str:
        """The absolute URL of an API ``path``, e.g. to print or open in a browser."""
        return f"{self.base_url}{API_PREFIX}{path}"

    def delete(self, path: str) -> dict[str, Any]:
        """DELETE ``path``."""
        return self._request("DELETE", path)

    def close(self) -> None:
        """Close the connection pool."""
        self._http.close()

    def __enter__(self) -> ApiClient:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def _request(self, method: str, path: str, **kwargs: Any) -> dict[str, Any]:
        return _envelope(self._send(method, path, **kwargs))

    def _send(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        try:
            return self._http.request(method, path, **kwargs)
        except (httpx.ConnectError, httpx.ConnectTimeout) as exc:
            logger.debug("connect to %s failed: %s", self.base_url, exc)
            raise ApiError(
                f"cannot reach the ktrdr API at {self.base_url} — start it with `ktrdr serve`"
            ) from exc
        except httpx.TimeoutException as exc:
            raise ApiError(
                f"error: the ktrdr API at {self.base_url} did not answer within {self._timeout:g}s"
            ) from exc
        except (httpx.HTTPError, httpx.InvalidURL) as exc:
            raise ApiError(f"error: request to {self.base_url} failed: {exc}") from exc


def _envelope(response: httpx.Response) -> dict[str, Any]:
    try:
        payload = response.json()
    except ValueError:
        payload = None
    if not isinstance(payload, dict):
        raise ApiError(
            f"error: HTTP {response.status_code} from {response.url} is not a ktrdr API answer",
            status_code=response.status_code,
        )
    if response.is_error or payload.get("success") is False:
        error = payload.get("error") or {}
        message = error.get("message") or f"HTTP {response.status_code}"
        raise ApiError(
            f"error: {message}", code=error.get("code"), status_code=response.status_code
        )
    return payload
