"""Operations: the persisted, observable, cancellable units of work (DESIGN §3)."""

from __future__ import annotations

from ktrdr.operations.models import (
    ACTIVE_STATUSES,
    CANCELABLE_STATUSES,
    TERMINAL_STATUSES,
    FailureCode,
    Operation,
    OperationMetadata,
    OperationPage,
    OperationStatus,
    OperationType,
    Progress,
)
from ktrdr.operations.service import OperationsService
from ktrdr.operations.store import MAX_PAGE_SIZE, OperationsStore

__all__ = [
    "ACTIVE_STATUSES",
    "CANCELABLE_STATUSES",
    "MAX_PAGE_SIZE",
    "TERMINAL_STATUSES",
    "FailureCode",
    "Operation",
    "OperationMetadata",
    "OperationPage",
    "OperationStatus",
    "OperationType",
    "OperationsService",
    "OperationsStore",
    "Progress",
]
