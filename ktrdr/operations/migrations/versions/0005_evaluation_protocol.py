"""The evaluation protocol: data windows, counted holdout looks, each experiment's protocol.

Revision ID: 0005_evaluation_protocol
Revises: 0004_operation_error_code
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005_evaluation_protocol"
down_revision = "0004_operation_error_code"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Create ``data_windows`` and ``holdout_evaluations``; mark old experiments single-window."""
    op.create_table(
        "data_windows",
        sa.Column("symbol", sa.String(32), primary_key=True),
        sa.Column("timeframe", sa.String(8), primary_key=True),
        sa.Column("research_start", sa.DateTime(timezone=True), nullable=False),
        sa.Column("research_end", sa.DateTime(timezone=True), nullable=False),
        sa.Column("holdout_start", sa.DateTime(timezone=True), nullable=False),
        sa.Column("frozen_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("holdout_looks", sa.Integer, nullable=False, server_default="0"),
    )
    op.create_table(
        "holdout_evaluations",
        sa.Column("model_path", sa.String(512), primary_key=True),
        sa.Column("holdout_start", sa.DateTime(timezone=True), primary_key=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("strategy_name", sa.String(64), nullable=False),
        sa.Column("symbol", sa.String(32), nullable=False),
        sa.Column("timeframe", sa.String(8), nullable=False),
        sa.Column("operation_id", sa.String(96), nullable=True),
        sa.Column("look", sa.Integer, nullable=False),
        sa.Column("result", sa.JSON, nullable=True),
    )
    op.create_index(
        "ix_holdout_evaluations_dataset", "holdout_evaluations", ["symbol", "timeframe"]
    )
    # Rows recorded before this revision were measured on one window: keep them, never score them.
    with op.batch_alter_table("experiments") as batch:
        batch.add_column(
            sa.Column("protocol", sa.String(16), nullable=False, server_default="single_window")
        )


def downgrade() -> None:
    """Drop what ``upgrade`` added."""
    with op.batch_alter_table("experiments") as batch:
        batch.drop_column("protocol")
    op.drop_index("ix_holdout_evaluations_dataset", table_name="holdout_evaluations")
    op.drop_table("holdout_evaluations")
    op.drop_table("data_windows")
