"""Settle, at server start, the jobs a previous server process left pending or running."""

from __future__ import annotations

import logging
from collections.abc import Iterable

from ktrdr.errors import InvalidTransitionError
from ktrdr.execution.base import Executor
from ktrdr.operations import MAX_PAGE_SIZE, FailureCode, OperationsService, OperationType

logger = logging.getLogger(__name__)

ORPHANED_MESSAGE = "lost: server restarted"


def fail_orphaned_jobs(
    operations: OperationsService,
    operation_types: Iterable[OperationType | str],
    message: str = ORPHANED_MESSAGE,
    *,
    executor: Executor | None = None,
) -> list[str]:
    """Fail every pending or running operation of these types that no live executor runs.

    E.g. ``fail_orphaned_jobs(ops, ["training", "backtesting"])`` after a restart fails each
    unfinished training and backtest with "lost: server restarted" and the code
    ``FailureCode.ORPHANED``; the ids failed.
    """
    orphans = [
        operation_id
        for kind in operation_types
        for operation_id in _active_ids(operations, kind)
        if executor is None or not executor.is_alive(operation_id)
    ]
    failed = []
    for operation_id in orphans:
        try:
            operations.fail(operation_id, message, code=FailureCode.ORPHANED)
        except InvalidTransitionError:
            logger.info("operation %s: ended meanwhile; not failed as orphaned", operation_id)
            continue
        failed.append(operation_id)
    if failed:
        logger.warning("failed %d orphaned operations (%s): %s", len(failed), message, failed)
    return failed


def _active_ids(operations: OperationsService, kind: OperationType | str) -> list[str]:
    ids: list[str] = []
    while True:
        page = operations.list(
            operation_type=kind, active_only=True, limit=MAX_PAGE_SIZE, offset=len(ids)
        )
        ids.extend(operation.operation_id for operation in page.items)
        if len(page.items) < MAX_PAGE_SIZE:
            return ids
