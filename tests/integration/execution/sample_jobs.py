"""Tiny jobs the spawned test workers run, as ``"integration.execution.sample_jobs:<name>"``.

conftest.py says why the workers can import this module by that path.
"""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any

from ktrdr.errors import DataError
from ktrdr.execution import JobCancelled, JobReporter

STEP_SECONDS = 0.01
SAFETY_SECONDS = 60.0  # a job the test forgot to release ends on its own


def add(operation_id: str, request: dict[str, Any]) -> dict[str, Any]:
    """Return the sum of ``request["a"]`` and ``request["b"]`` and the worker's pid."""
    return {"sum": request["a"] + request["b"], "pid": os.getpid()}


def hold(operation_id: str, request: dict[str, Any]) -> dict[str, Any]:
    """Report progress with the pid, then wait (checking cancellation) for the release file."""
    reporter = JobReporter(operation_id)
    reporter.progress(
        percentage=50,
        current_step="holding",
        items_done=1,
        items_total=2,
        context={"pid": os.getpid()},
    )
    release = Path(request["release"])
    deadline = time.monotonic() + SAFETY_SECONDS
    try:
        while not release.exists() and time.monotonic() < deadline:
            reporter.check_cancelled()
            time.sleep(STEP_SECONDS)
    except JobCancelled:
        Path(request["stopped"]).write_text(str(os.getpid()))
        raise
    return {"pid": os.getpid()}


def spin(operation_id: str, request: dict[str, Any]) -> dict[str, Any]:
    """Report the pid, then busy-loop ignoring cancellation (until a safety deadline)."""
    JobReporter(operation_id).progress(context={"pid": os.getpid()})
    deadline = time.monotonic() + SAFETY_SECONDS
    while time.monotonic() < deadline:
        pass
    return {"pid": os.getpid()}


def touch(operation_id: str, request: dict[str, Any]) -> dict[str, Any]:
    """Write the marker file ``request["marker"]``: proof that the job ran."""
    Path(request["marker"]).write_text(operation_id)
    return {}


def fail_with_data_error(operation_id: str, request: dict[str, Any]) -> dict[str, Any]:
    """Raise a ktrdr DataError."""
    raise DataError("no bars for EURUSD 1h between 2024-01-01 and 2024-02-01")


def fail_with_value_error(operation_id: str, request: dict[str, Any]) -> dict[str, Any]:
    """Raise a plain ValueError."""
    raise ValueError("learning rate must be positive")
