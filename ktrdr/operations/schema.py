"""Table definitions of the operations store; every change comes with an Alembic migration."""

from __future__ import annotations

from sqlalchemy import JSON, Column, DateTime, Index, MetaData, String, Table, Text

metadata = MetaData()

operations = Table(
    "operations",
    metadata,
    Column("operation_id", String(96), primary_key=True),
    Column("operation_type", String(32), nullable=False),
    Column("status", String(16), nullable=False),
    Column("parent_operation_id", String(96), nullable=True),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("started_at", DateTime(timezone=True), nullable=True),
    Column("completed_at", DateTime(timezone=True), nullable=True),
    Column("updated_at", DateTime(timezone=True), nullable=False),
    Column("progress", JSON, nullable=False),
    Column("op_metadata", JSON, nullable=False),
    Column("result_summary", JSON, nullable=True),
    Column("error_message", Text, nullable=True),
    Column("error_code", String(32), nullable=True),
    Index("ix_operations_type_created", "operation_type", "created_at"),
    Index("ix_operations_status_created", "status", "created_at"),
    Index("ix_operations_parent", "parent_operation_id"),
    Index("ix_operations_created", "created_at"),
)
