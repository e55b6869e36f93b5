"""Create the operations table.

Revision ID: 0001_operations
Revises:
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001_operations"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Create ``operations`` with its listing indexes."""
    op.create_table(
        "operations",
        sa.Column("operation_id", sa.String(96), primary_key=True),
        sa.Column("operation_type", sa.String(32), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("parent_operation_id", sa.String(96), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("completed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("progress", sa.JSON, nullable=False),
        sa.Column("op_metadata", sa.JSON, nullable=False),
        sa.Column("result_summary", sa.JSON, nullable=True),
        sa.Column("error_message", sa.Text, nullable=True),
    )
    op.create_index("ix_operations_type_created", "operations", ["operation_type", "created_at"])
    op.create_index("ix_operations_status_created", "operations", ["status", "created_at"])
    op.create_index("ix_operations_parent", "operations", ["parent_operation_id"])
    op.create_index("ix_operations_created", "operations", ["created_at"])


def downgrade() -> None:
    """Drop ``operations``."""
    op.drop_table("operations")
