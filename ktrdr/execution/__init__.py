"""Job execution: run ``job(operation_id, request) -> result_summary`` functions on workers.

Services submit a ``JobSpec`` to an ``Executor`` (``create_executor``); inside the job a
``JobReporter`` writes progress and checks cancellation between batches.
"""

from __future__ import annotations

from ktrdr.execution.base import Executor, JobSpec, ResourceNeeds
from ktrdr.execution.factory import create_executor
from ktrdr.execution.local import LocalExecutor
from ktrdr.execution.recovery import fail_orphaned_jobs
from ktrdr.execution.reporter import JobCancelled, JobReporter, worker_operations

__all__ = [
    "Executor",
    "JobCancelled",
    "JobReporter",
    "JobSpec",
    "LocalExecutor",
    "ResourceNeeds",
    "create_executor",
    "fail_orphaned_jobs",
    "worker_operations",
]
