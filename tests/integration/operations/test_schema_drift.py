"""A database migrated to head matches the one ``MetaData`` (Alembic's autogenerate check)."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from ktrdr.operations.database import create_db_engine, migrate
from ktrdr.operations.schema import metadata


def test_every_table_is_in_the_one_metadata() -> None:
    assert set(metadata.tables) == {
        "operations",
        "experiments",
        "llm_spend",
        "llm_cache",
        "data_windows",
        "holdout_evaluations",
        "evaluation_trials",
    }


def test_migrations_and_metadata_do_not_drift(database_url: str) -> None:
    engine = create_db_engine(database_url)
    try:
        migrate(engine)
        with engine.connect() as conn:
            context = MigrationContext.configure(
                conn, opts={"compare_type": True, "compare_server_default": False}
            )
            diff = compare_metadata(context, metadata)
    finally:
        engine.dispose()

    assert [d for d in diff if not _is_alembic_bookkeeping(d)] == []


def _is_alembic_bookkeeping(difference: object) -> bool:
    """Alembic's own version table (``ktrdr_alembic_version``) is not ours to declare."""
    return (
        isinstance(difference, tuple)
        and difference[0] == "remove_table"
        and difference[1].name == "ktrdr_alembic_version"
    )
