"""Poll until a condition holds, with a deadline (never a bare sleep)."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TYPE_CHECKING, TypeVar

if TYPE_CHECKING:
    from ktrdr.operations import Operation, OperationsService

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


def terminal(
    operations: OperationsService, operation_id: str, timeout: float = DEADLINE_SECONDS
) -> Operation:
    """The operation once it is completed, failed or cancelled."""
    return eventually(
        lambda: (op := operations.get(operation_id)).is_terminal and op,
        f"operation {operation_id} ends",
        timeout=timeout,
    )
