"""Create the experiments table: the research cycle's memory of every finished experiment.

Revision ID: 0002_experiments
Revises: 0001_operations
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002_experiments"
down_revision = "0001_operations"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Create ``experiments`` with its newest-first index."""
    op.create_table(
        "experiments",
        sa.Column("experiment_id", sa.String(96), primary_key=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("strategy_name", sa.String(64), nullable=False),
        sa.Column("designer", sa.String(32), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("strategy", sa.JSON, nullable=False),
        sa.Column("design", sa.JSON, nullable=False),
        sa.Column("training_metrics", sa.JSON, nullable=True),
        sa.Column("backtest_metrics", sa.JSON, nullable=True),
        sa.Column("gates", sa.JSON, nullable=False),
        sa.Column("verdict", sa.String(16), nullable=True),
        sa.Column("error", sa.Text, nullable=True),
    )
    op.create_index("ix_experiments_created", "experiments", ["created_at"])


def downgrade() -> None:
    """Drop ``experiments``."""
    op.drop_table("experiments")
