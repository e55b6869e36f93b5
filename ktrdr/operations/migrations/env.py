"""Alembic environment: runs on the connection handed over by ``ktrdr.operations.migrate``."""

from __future__ import annotations

from alembic import context

from ktrdr.operations.schema import metadata

connection = context.config.attributes["connection"]
# Optuna keeps its own schema revision in "alembic_version" in the same database.
context.configure(
    connection=connection,
    target_metadata=metadata,
    render_as_batch=True,
    version_table="ktrdr_alembic_version",
)
with context.begin_transaction():
    context.run_migrations()
