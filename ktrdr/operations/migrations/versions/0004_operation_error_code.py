"""Add ``operations.error_code``: why a failed operation failed, when callers act on it.

Revision ID: 0004_operation_error_code
Revises: 0003_llm_budget_cache
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004_operation_error_code"
down_revision = "0003_llm_budget_cache"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Add the nullable ``error_code`` column (a ``FailureCode`` value)."""
    with op.batch_alter_table("operations") as batch:
        batch.add_column(sa.Column("error_code", sa.String(32), nullable=True))


def downgrade() -> None:
    """Drop ``error_code``."""
    with op.batch_alter_table("operations") as batch:
        batch.drop_column("error_code")
