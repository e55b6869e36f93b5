"""Poll until a condition holds, with a deadline (never a bare sleep)."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")
DEADLINE_SECONDS = 30.0  # generous: the 2 CPU cores are shared with other test runs


def eventually(probe: Callable[[], T], what: str, timeout: float = DEADLINE_SECONDS) -> T:
    """The first truthy value of ``probe()``, polled until ``timeout``; AssertionError after."""
    deadline = time.monotonic() + timeout
    while True:
        value = probe()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"not within {timeout:.0f}s: {what}")
        time.sleep(0.02)
