"""Tables of the LLM budget ledger and the replay cache; created by migration ``0003``."""

from __future__ import annotations

from sqlalchemy import JSON, Column, DateTime, Float, Index, Integer, MetaData, String, Table

metadata = MetaData()

llm_spend = Table(
    "llm_spend",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("day", String(10), nullable=False),
    Column("operation_id", String(96), nullable=False),
    Column("research_id", String(96), nullable=True),
    Column("purpose", String(16), nullable=False),
    Column("provider", String(16), nullable=False),
    Column("model", String(128), nullable=False),
    Column("input_tokens", Integer, nullable=False),
    Column("output_tokens", Integer, nullable=False),
    Column("cost_usd", Float, nullable=False),
    Index("ix_llm_spend_day", "day"),
    Index("ix_llm_spend_model", "model", "created_at"),
)

llm_cache = Table(
    "llm_cache",
    metadata,
    Column("cache_key", String(64), primary_key=True),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("provider", String(16), nullable=False),
    Column("model", String(128), nullable=False),
    Column("response", JSON, nullable=False),
)
