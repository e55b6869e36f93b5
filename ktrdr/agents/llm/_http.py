"""Translate the SDKs' HTTP failures into retryable or final ``LLMProviderError``s."""

from __future__ import annotations

import httpx

from ktrdr.agents.llm._retry import LLMProviderError, RetryableLLMError

RETRYABLE_STATUS = frozenset({408, 409, 429})  # plus every 5xx (529 = Anthropic overloaded)


def status_error(provider: str, response: httpx.Response, message: str) -> LLMProviderError:
    """The error for an HTTP error answer: retryable for rate limits, overload and 5xx."""
    status = response.status_code
    text = f"{provider}: HTTP {status}: {message}"
    if status in RETRYABLE_STATUS or status >= 500:
        return RetryableLLMError(text, retry_after=retry_after(response))
    if status in (401, 403):
        return LLMProviderError(f"{text} (check the {provider.upper()}_API_KEY)")
    return LLMProviderError(text)


def connection_error(provider: str, exc: Exception) -> RetryableLLMError:
    """A timeout or a dropped connection: always worth another attempt."""
    return RetryableLLMError(f"{provider}: {type(exc).__name__}: {exc}")


def retry_after(response: httpx.Response) -> float | None:
    """The server's wait hint in seconds (``retry-after-ms`` or ``retry-after``), if numeric."""
    for header, scale in (("retry-after-ms", 0.001), ("retry-after", 1.0)):
        value = response.headers.get(header)
        if value is not None:
            try:
                return float(value) * scale
            except ValueError:
                continue
    return None
