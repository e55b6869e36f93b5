"""Create the LLM budget ledger (one row per paid call) and the LLM replay cache.

Revision ID: 0003_llm_budget_cache
Revises: 0002_experiments
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003_llm_budget_cache"
down_revision = "0002_experiments"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Create ``llm_spend`` (indexed by day and by model) and ``llm_cache``."""
    op.create_table(
        "llm_spend",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("day", sa.String(10), nullable=False),
        sa.Column("operation_id", sa.String(96), nullable=False),
        sa.Column("research_id", sa.String(96), nullable=True),
        sa.Column("purpose", sa.String(16), nullable=False),
        sa.Column("provider", sa.String(16), nullable=False),
        sa.Column("model", sa.String(128), nullable=False),
        sa.Column("input_tokens", sa.Integer, nullable=False),
        sa.Column("output_tokens", sa.Integer, nullable=False),
        sa.Column("cost_usd", sa.Float, nullable=False),
    )
    op.create_index("ix_llm_spend_day", "llm_spend", ["day"])
    op.create_index("ix_llm_spend_model", "llm_spend", ["model", "created_at"])
    op.create_table(
        "llm_cache",
        sa.Column("cache_key", sa.String(64), primary_key=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("provider", sa.String(16), nullable=False),
        sa.Column("model", sa.String(128), nullable=False),
        sa.Column("response", sa.JSON, nullable=False),
    )


def downgrade() -> None:
    """Drop ``llm_cache`` and ``llm_spend``."""
    op.drop_table("llm_cache")
    op.drop_table("llm_spend")
