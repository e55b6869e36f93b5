"""OperationsStore: the persisted operations on SQLAlchemy (SQLite or PostgreSQL)."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, Engine, RowMapping, func, insert, select, update

from ktrdr.errors import InvalidTransitionError, NotFoundError, TransientError, ValidationError
from ktrdr.operations.database import create_db_engine, migrate, read_connection, write_transaction
from ktrdr.operations.models import (
    ACTIVE_STATUSES,
    TERMINAL_STATUSES,
    Operation,
    OperationMetadata,
    OperationPage,
    OperationStatus,
    OperationType,
    Progress,
    Trigger,
    next_status,
    utc_now,
)
from ktrdr.operations.schema import operations as table

logger = logging.getLogger(__name__)

MAX_PAGE_SIZE = 1000
Mutation = Callable[[Operation], dict[str, Any]]


class OperationsStore:
    """Reads and writes operations; every status change is one guarded transaction."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    @classmethod
    def from_url(cls, url: str) -> OperationsStore:
        """Open (and migrate) the store at ``url``."""
        engine = create_db_engine(url)
        migrate(engine)
        return cls(engine)

    @property
    def backend(self) -> str:
        """``sqlite`` or ``postgresql``."""
        return self.engine.dialect.name

    def ping(self) -> bool:
        """True when the database answers a trivial query."""
        try:
            with read_connection(self.engine) as conn:
                conn.execute(select(1))
        except TransientError:
            return False
        return True

    def dispose(self) -> None:
        """Close every pooled connection."""
        self.engine.dispose()

    def insert(self, operation: Operation) -> Operation:
        """Persist a new operation; its parent, when given, must exist."""
        with write_transaction(self.engine) as conn:
            if operation.parent_operation_id is not None:
                self._fetch(conn, operation.parent_operation_id)
            conn.execute(insert(table).values(**_to_row(operation)))
        return operation

    def get(self, operation_id: str) -> Operation:
        """The operation with this id; ``NotFoundError`` if there is none."""
        with read_connection(self.engine) as conn:
            return self._fetch(conn, operation_id, lock=False)

    def status_of(self, operation_id: str) -> OperationStatus:
        """Only the status: the cheap read a running job polls."""
        with read_connection(self.engine) as conn:
            value = conn.execute(
                select(table.c.status).where(table.c.operation_id == operation_id)
            ).scalar_one_or_none()
        if value is None:
            raise NotFoundError(f"operation {operation_id!r} not found")
        return OperationStatus(value)

    def statuses(self, operation_ids: list[str]) -> dict[str, OperationStatus]:
        """The statuses of several operations in one query (unknown ids are left out)."""
        query = select(table.c.operation_id, table.c.status).where(
            table.c.operation_id.in_(operation_ids)
        )
        with read_connection(self.engine) as conn:
            return {row.operation_id: OperationStatus(row.status) for row in conn.execute(query)}

    def transition(
        self, operation_id: str, trigger: Trigger, mutate: Mutation | None = None
    ) -> Operation:
        """Apply ``trigger`` to one operation if the state table allows it; raise otherwise."""
        with write_transaction(self.engine) as conn:
            return self._transition(conn, self._fetch(conn, operation_id), trigger, mutate)

    def mutate(self, operation_id: str, mutate: Mutation) -> Operation:
        """Change non-status fields of an active operation atomically (read-modify-write)."""
        with write_transaction(self.engine) as conn:
            current = self._fetch(conn, operation_id)
            if current.status in TERMINAL_STATUSES:
                _refuse_late_write(current, "update")
            return self._write(conn, current, mutate(current))

    def cancel_tree(self, operation_id: str, reason: str) -> list[str]:
        """Cancel an operation and every active descendant in one transaction; ids cancelled."""
        with write_transaction(self.engine) as conn:
            root = self._fetch(conn, operation_id)
            self._transition(conn, root, Trigger.CANCEL, _cancel_fields(reason))
            cancelled = [root.operation_id]
            frontier = [root.operation_id]
            while frontier:
                rows = conn.execute(
                    select(table).where(table.c.parent_operation_id.in_(frontier)).with_for_update()
                ).mappings()
                children = [_from_row(row) for row in rows]
                frontier = [child.operation_id for child in children]
                for child in children:
                    if child.status in ACTIVE_STATUSES:
                        parent_reason = f"parent {child.parent_operation_id} cancelled"
                        self._transition(conn, child, Trigger.CANCEL, _cancel_fields(parent_reason))
                        cancelled.append(child.operation_id)
        return cancelled

    def list(
        self,
        *,
        operation_type: OperationType | None = None,
        status: Iterable[OperationStatus] | OperationStatus | None = None,
        parent: str | None = None,
        limit: int = 100,
        offset: int = 0,
    ) -> OperationPage:
        """A page of operations, newest first, and the count of every match."""
        if not 1 <= limit <= MAX_PAGE_SIZE:
            raise ValidationError(f"limit must be between 1 and {MAX_PAGE_SIZE}, got {limit}")
        if offset < 0:
            raise ValidationError(f"offset must be >= 0, got {offset}")
        conditions = []
        if operation_type is not None:
            conditions.append(table.c.operation_type == OperationType(operation_type).value)
        if status is not None:
            statuses = [status] if isinstance(status, str) else list(status)
            conditions.append(table.c.status.in_([OperationStatus(s).value for s in statuses]))
        if parent is not None:
            conditions.append(table.c.parent_operation_id == parent)
        query = (
            select(table)
            .where(*conditions)
            .order_by(table.c.created_at.desc(), table.c.operation_id.desc())
            .limit(limit)
            .offset(offset)
        )
        with read_connection(self.engine) as conn:
            items = [_from_row(row) for row in conn.execute(query).mappings()]
            total = conn.execute(select(func.count()).select_from(table).where(*conditions))
            return OperationPage(items=items, total_count=total.scalar_one())

    def _fetch(self, conn: Connection, operation_id: str, *, lock: bool = True) -> Operation:
        query = select(table).where(table.c.operation_id == operation_id)
        row = conn.execute(query.with_for_update() if lock else query).mappings().first()
        if row is None:
            raise NotFoundError(
                f"operation {operation_id!r} not found", details={"operation_id": operation_id}
            )
        return _from_row(row)

    def _transition(
        self, conn: Connection, current: Operation, trigger: Trigger, mutate: Mutation | None
    ) -> Operation:
        target = next_status(current.status, trigger)
        if target is None:
            if current.status in TERMINAL_STATUSES and trigger is not Trigger.CANCEL:
                _refuse_late_write(current, trigger.value)
            raise InvalidTransitionError(current.operation_id, current.status, trigger.value)
        changes = mutate(current) if mutate else {}
        changes["status"] = target
        now = utc_now()
        if target is OperationStatus.RUNNING and current.started_at is None:
            changes["started_at"] = now
        if target in TERMINAL_STATUSES:
            changes["completed_at"] = now
        return self._write(conn, current, changes)

    def _write(self, conn: Connection, current: Operation, changes: dict[str, Any]) -> Operation:
        updated = current.model_copy(update=changes)
        row = _to_row(updated)
        conn.execute(
            update(table).where(table.c.operation_id == current.operation_id).values(**row)
        )
        return Operation.model_validate(updated.model_dump())


def _refuse_late_write(current: Operation, action: str) -> None:
    logger.warning(
        "refused late %s of operation %s: it is already %s",
        action,
        current.operation_id,
        current.status.value,
    )
    raise InvalidTransitionError(current.operation_id, current.status, action)


def _cancel_fields(reason: str) -> Mutation:
    return lambda _op: {"error_message": reason}


def _to_row(operation: Operation) -> dict[str, Any]:
    return {
        "operation_id": operation.operation_id,
        "operation_type": operation.operation_type.value,
        "status": OperationStatus(operation.status).value,
        "parent_operation_id": operation.parent_operation_id,
        "created_at": operation.created_at,
        "started_at": operation.started_at,
        "completed_at": operation.completed_at,
        "updated_at": utc_now(),
        "progress": Progress.model_validate(operation.progress).model_dump(mode="json"),
        "op_metadata": OperationMetadata.model_validate(operation.metadata).model_dump(mode="json"),
        "result_summary": operation.result_summary,
        "error_message": operation.error_message,
        "error_code": operation.error_code,
    }


def _aware(value: datetime | None) -> datetime | None:
    if value is None or value.tzinfo is not None:
        return value
    return value.replace(tzinfo=UTC)  # SQLite hands back naive datetimes; they were stored as UTC


def _from_row(row: RowMapping) -> Operation:
    return Operation(
        operation_id=row["operation_id"],
        operation_type=row["operation_type"],
        status=row["status"],
        parent_operation_id=row["parent_operation_id"],
        created_at=_aware(row["created_at"]),
        started_at=_aware(row["started_at"]),
        completed_at=_aware(row["completed_at"]),
        progress=row["progress"],
        metadata=row["op_metadata"],
        result_summary=row["result_summary"],
        error_message=row["error_message"],
        error_code=row["error_code"],
    )
