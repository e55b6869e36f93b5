"""The retry policy of source requests: HTTP 429 and 5xx retried with bounded backoff and jitter."""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable
from typing import TypeVar

from ktrdr.errors import DataError, TransientError

logger = logging.getLogger(__name__)

T = TypeVar("T")

RETRY_BASE_SECONDS = 0.25  # first wait; doubles per attempt: 0.25, 0.5, 1, 2 ...
RETRY_MAX_SECONDS = 8.0
RETRY_JITTER = 0.25  # each wait is stretched or shrunk by up to 25 % so clients spread out
MAX_RETRIES = 5


class RetryableSourceError(TransientError):
    """A rate limit (429) or server error (5xx): worth another attempt."""

    code = "source_retryable"


def retry_delay(attempt: int) -> float:
    """Seconds to wait before retry ``attempt`` (0-based): 0.25 s doubling to 8 s, jittered."""
    base = min(RETRY_BASE_SECONDS * 2**attempt, RETRY_MAX_SECONDS)
    return base * (1.0 + random.uniform(-RETRY_JITTER, RETRY_JITTER))


def call_with_retries(attempt: Callable[[], T], *, label: str, max_retries: int = MAX_RETRIES) -> T:
    """Run ``attempt()``; on ``RetryableSourceError`` wait and try again, ``max_retries`` times."""
    number = 0
    while True:
        try:
            return attempt()
        except RetryableSourceError as exc:
            if number >= max_retries:
                raise DataError(
                    f"{label}: gave up after {number + 1} attempts: {exc.message}",
                    details={"attempts": number + 1},
                ) from exc
            delay = retry_delay(number)
            logger.debug("%s: %s; retry %d in %.2f s", label, exc.message, number + 1, delay)
            time.sleep(delay)
            number += 1
