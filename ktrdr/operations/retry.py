"""Retry a store write through a database outage (a PostgreSQL restart, a locked SQLite file)."""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable
from typing import TypeVar

from ktrdr.errors import TransientError

logger = logging.getLogger(__name__)

T = TypeVar("T")
FIRST_DELAY_SECONDS = 0.2
MAX_DELAY_SECONDS = 5.0
BACKOFF_FACTOR = 2.0
JITTER_FRACTION = 0.2  # each delay is stretched by up to 20 % so retrying workers spread out
GIVE_UP_AFTER_SECONDS = 300.0


def retry_transient(
    action: Callable[[], T], what: str, *, give_up_after: float = GIVE_UP_AFTER_SECONDS
) -> T:
    """Run ``action``; on ``TransientError`` wait (0.2 s, 0.4 s, ... at most 5 s) and run it again.

    Gives up, re-raising the last error, once ``give_up_after`` seconds have passed. Only
    transient errors are retried: anything else propagates at once.
    """
    deadline = time.monotonic() + give_up_after
    delay = FIRST_DELAY_SECONDS
    while True:
        try:
            return action()
        except TransientError as exc:
            if time.monotonic() + delay > deadline:
                raise
            logger.warning("could not %s (%s); retrying in %.1fs", what, exc, delay)
            time.sleep(delay * (1 + random.uniform(0, JITTER_FRACTION)))
            delay = min(delay * BACKOFF_FACTOR, MAX_DELAY_SECONDS)
