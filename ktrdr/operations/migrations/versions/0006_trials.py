"""Trial accounting: one row per walk-forward evaluation, and each experiment's statistics.

Revision ID: 0006_trials
Revises: 0005_evaluation_protocol
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006_trials"
down_revision = "0005_evaluation_protocol"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Create ``evaluation_trials`` (Optuna owns ``trials`` in the same database); add the
    nullable ``experiments.statistics``."""
    op.create_table(
        "evaluation_trials",
        sa.Column("operation_id", sa.String(96), primary_key=True),
        sa.Column("symbol", sa.String(32), nullable=False),
        sa.Column("timeframe", sa.String(8), nullable=False),
        sa.Column("holdout_start", sa.DateTime(timezone=True), nullable=False),
        sa.Column("completed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("strategy_name", sa.String(64), nullable=False),
        sa.Column("model_path", sa.String(512), nullable=False),
        sa.Column("sharpe", sa.Float, nullable=True),
        sa.Column("n_obs", sa.Integer, nullable=False),
        sa.Column("skew", sa.Float, nullable=True),
        sa.Column("kurtosis", sa.Float, nullable=True),
        sa.Column("trades", sa.Integer, nullable=False),
        sa.Column("returns", sa.LargeBinary, nullable=False),
    )
    op.create_index(
        "ix_evaluation_trials_dataset",
        "evaluation_trials",
        ["symbol", "timeframe", "holdout_start"],
    )
    with op.batch_alter_table("experiments") as batch:
        batch.add_column(sa.Column("statistics", sa.JSON, nullable=True))


def downgrade() -> None:
    """Drop what ``upgrade`` added."""
    with op.batch_alter_table("experiments") as batch:
        batch.drop_column("statistics")
    op.drop_index("ix_evaluation_trials_dataset", table_name="evaluation_trials")
    op.drop_table("evaluation_trials")
