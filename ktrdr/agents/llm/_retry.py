"""The one retry policy of LLM calls: backoff with jitter, or the server's Retry-After."""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Awaitable, Callable
from typing import TypeVar

from ktrdr.errors import JobError

logger = logging.getLogger(__name__)

T = TypeVar("T")

RETRY_BASE_SECONDS = 0.5  # first wait; doubles per attempt: 0.5, 1, 2, 4 ...
RETRY_MAX_SECONDS = 30.0
RETRY_JITTER = 0.25  # each wait is stretched or shrunk by up to 25 %


class LLMProviderError(JobError):
    """An LLM provider refused a request or kept failing; the message names provider and status."""

    code = "llm_provider_error"


class RetryableLLMError(LLMProviderError):
    """A rate limit, overload, 5xx or timeout: worth another attempt after ``retry_after`` s."""

    code = "llm_retryable"

    def __init__(self, message: str, *, retry_after: float | None = None) -> None:
        super().__init__(message, details={"retry_after": retry_after})
        self.retry_after = retry_after


def retry_delay(attempt: int, retry_after: float | None = None) -> float:
    """Seconds to wait before retry ``attempt`` (0-based): the server's hint, else backoff."""
    if retry_after is not None:
        return min(max(retry_after, 0.0), RETRY_MAX_SECONDS)
    base = min(RETRY_BASE_SECONDS * 2**attempt, RETRY_MAX_SECONDS)
    return base * (1.0 + random.uniform(-RETRY_JITTER, RETRY_JITTER))


async def call_with_retries(
    attempt: Callable[[], Awaitable[T]], *, max_retries: int, label: str
) -> T:
    """Await ``attempt()``; on ``RetryableLLMError`` wait and try again, ``max_retries`` times."""
    number = 0
    while True:
        try:
            return await attempt()
        except RetryableLLMError as exc:
            if number >= max_retries:
                raise LLMProviderError(
                    f"{label}: gave up after {number + 1} attempts: {exc.message}"
                ) from exc
            delay = retry_delay(number, exc.retry_after)
            logger.debug("%s: %s; retry %d in %.2f s", label, exc.message, number + 1, delay)
            await asyncio.sleep(delay)
            number += 1
