"""Every table of the ktrdr database, in one ``MetaData``; every change comes with a migration.

Alembic (``migrations/env.py``) targets it; a test compares it with a migrated database.
"""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    Column,
    DateTime,
    Float,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
)

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


# The experiment memory (ktrdr.agents.memory); created by migration 0002.
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
    # How the metrics were measured: walk_forward (research window) or single_window (before
    # the evaluation protocol; never scored by designers). Added by migration 0005.
    Column("protocol", String(16), nullable=False, server_default="single_window"),
    # The research-window statistics of the cycle (DSR, PSR, trials, PBO); migration 0006.
    Column("statistics", JSON, nullable=True),
    Index("ix_experiments_created", "created_at"),
)


# The LLM budget ledger (ktrdr.agents.llm.budget); created by migration 0003.
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

# The LLM replay cache (ktrdr.agents.llm.cache); created by migration 0003.
llm_cache = Table(
    "llm_cache",
    metadata,
    Column("cache_key", String(64), primary_key=True),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("provider", String(16), nullable=False),
    Column("model", String(128), nullable=False),
    Column("response", JSON, nullable=False),
)


# The research window and sealed holdout of each data set (ktrdr.data.windows); migration 0005.
data_windows = Table(
    "data_windows",
    metadata,
    Column("symbol", String(32), primary_key=True),
    Column("timeframe", String(8), primary_key=True),
    Column("research_start", DateTime(timezone=True), nullable=False),
    Column("research_end", DateTime(timezone=True), nullable=False),
    Column("holdout_start", DateTime(timezone=True), nullable=False),
    Column("frozen_at", DateTime(timezone=True), nullable=False),
    Column("holdout_looks", Integer, nullable=False, server_default="0"),
)

# One row per look at the holdout (ktrdr.evaluation.holdout); migration 0005.
holdout_evaluations = Table(
    "holdout_evaluations",
    metadata,
    Column("model_path", String(512), primary_key=True),
    # A reset moves the holdout: the same model may then meet the new one (a new look).
    Column("holdout_start", DateTime(timezone=True), primary_key=True),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("strategy_name", String(64), nullable=False),
    Column("symbol", String(32), nullable=False),
    Column("timeframe", String(8), nullable=False),
    Column("operation_id", String(96), nullable=True),  # None until its backtest is started
    Column("look", Integer, nullable=False),
    Column("result", JSON, nullable=True),
    Index("ix_holdout_evaluations_dataset", "symbol", "timeframe"),
)

# One row per walk-forward evaluation of a data set's research window (ktrdr.evaluation.trials);
# migration 0006. Keyed by the backtest operation: a trial is never recorded twice. Not named
# "trials": Optuna's storage in the same database owns that name.
evaluation_trials = Table(
    "evaluation_trials",
    metadata,
    Column("operation_id", String(96), primary_key=True),
    Column("symbol", String(32), nullable=False),
    Column("timeframe", String(8), nullable=False),
    # The data set's holdout start when the backtest ran: a reset starts the statistics afresh.
    Column("holdout_start", DateTime(timezone=True), nullable=False),
    Column("completed_at", DateTime(timezone=True), nullable=False),
    Column("strategy_name", String(64), nullable=False),
    Column("model_path", String(512), nullable=False),
    Column("sharpe", Float, nullable=True),  # per bar; None for a flat curve (undefined)
    Column("n_obs", Integer, nullable=False),
    Column("skew", Float, nullable=True),
    Column("kurtosis", Float, nullable=True),
    Column("trades", Integer, nullable=False),
    Column("returns", LargeBinary, nullable=False),  # parquet: per-bar stitched OOS returns
    Index("ix_evaluation_trials_dataset", "symbol", "timeframe", "holdout_start"),
)
