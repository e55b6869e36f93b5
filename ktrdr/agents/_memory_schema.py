"""Table of the experiment memory; created by migration ``0002_experiments``."""

from __future__ import annotations

from sqlalchemy import JSON, Column, DateTime, Index, MetaData, String, Table, Text

metadata = MetaData()

experiments = Table(
    "experiments",
    metadata,
    Column("experiment_id", String(96), primary_key=True),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
    Column("strategy_name", String(64), nullable=False),
    Column("designer", String(32), nullable=False),
    Column("status", String(16), nullable=False),
    Column("strategy", JSON, nullable=False),
    Column("design", JSON, nullable=False),
    Column("training_metrics", JSON, nullable=True),
    Column("backtest_metrics", JSON, nullable=True),
    Column("gates", JSON, nullable=False),
    Column("verdict", String(16), nullable=True),
    Column("error", Text, nullable=True),
    Index("ix_experiments_created", "created_at"),
)
