"""Experiment memory on the real store (SQLite and PostgreSQL): record, upsert, list, count, get."""

from __future__ import annotations

import json
import math
from dataclasses import replace
from datetime import UTC, datetime, timedelta, timezone

import pytest
from alembic import command
from alembic.config import Config
from sqlalchemy import insert, inspect

from ktrdr.agents.memory import (
    SINGLE_WINDOW,
    WALK_FORWARD,
    ExperimentMemory,
    ExperimentRecord,
    experiment_score,
    summarize_experiments,
)
from ktrdr.errors import NotFoundError, ValidationError
from ktrdr.operations import OperationsStore
from ktrdr.operations.database import (
    MIGRATIONS_DIR,
    create_db_engine,
    migrate,
    write_transaction,
)
from ktrdr.operations.schema import experiments

START = datetime(2026, 1, 5, 9, 30, tzinfo=UTC)


@pytest.fixture
def memory(store: OperationsStore) -> ExperimentMemory:
    """An empty experiment memory on the migrated store's engine."""
    return ExperimentMemory(store.engine)


def make_record(number: int, **changes: object) -> ExperimentRecord:
    """A completed experiment created ``number`` minutes after START."""
    record = ExperimentRecord(
        experiment_id=f"op_agent_research_20260105_0930{number:02d}_{number:08x}",
        created_at=START + timedelta(minutes=number),
        strategy_name=f"trial_{number}",
        designer="offline",
        status="completed",
        strategy={"name": f"trial_{number}", "indicators": {"rsi_14": {"type": "rsi"}}},
        design={"study": "offline", "trial_number": number},
        training_metrics={"test_accuracy": 0.52, "test_loss": 0.95},
        backtest_metrics={"sharpe_ratio": 0.8, "total_trades": 23, "win_rate": 0.58},
        gates={
            "training": {"passed": True, "reason": "passed"},
            "backtest": {"passed": True, "reason": "passed"},
        },
        verdict="neutral",
    )
    return replace(record, **changes)


def test_migration_adds_experiments_to_a_database_at_0001(database_url: str) -> None:
    engine = create_db_engine(database_url)
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    with write_transaction(engine) as conn:
        config.attributes["connection"] = conn
        command.upgrade(config, "0001_operations")
    assert "experiments" not in inspect(engine).get_table_names()

    migrate(engine)

    assert "experiments" in inspect(engine).get_table_names()
    assert ExperimentMemory(engine).count() == 0
    engine.dispose()


def test_record_and_get_round_trip(memory: ExperimentMemory) -> None:
    record = make_record(1)

    memory.record(record)

    assert memory.get(record.experiment_id) == record
    assert memory.get(record.experiment_id).created_at.tzinfo is not None


def test_record_upserts_by_experiment_id(memory: ExperimentMemory) -> None:
    first = make_record(1, status="gate_failed", backtest_metrics=None, verdict=None)
    memory.record(first)

    final = replace(first, status="completed", verdict="promising", error=None)
    memory.record(final)

    assert memory.count() == 1
    assert memory.get(first.experiment_id) == final


def test_list_is_newest_first_with_paging(memory: ExperimentMemory) -> None:
    for number in (3, 1, 4, 2):
        memory.record(make_record(number))

    names = [record.strategy_name for record in memory.list()]
    page = [record.strategy_name for record in memory.list(limit=2, offset=1)]

    assert names == ["trial_4", "trial_3", "trial_2", "trial_1"]
    assert page == ["trial_3", "trial_2"]
    assert memory.count() == 4


def test_empty_memory(memory: ExperimentMemory) -> None:
    assert memory.count() == 0
    assert memory.list() == []


def test_get_unknown_experiment_raises_not_found(memory: ExperimentMemory) -> None:
    with pytest.raises(NotFoundError, match="op_missing"):
        memory.get("op_missing")


def test_created_at_in_another_zone_is_stored_as_utc(memory: ExperimentMemory) -> None:
    local = START.astimezone(timezone(timedelta(hours=2)))
    memory.record(make_record(1, created_at=local))

    assert memory.get(make_record(1).experiment_id).created_at == START


def test_non_finite_metrics_are_stored_as_null(memory: ExperimentMemory) -> None:
    record = make_record(
        1, backtest_metrics={"sharpe_ratio": math.nan, "profit_factor": math.inf, "bars": (1, 2)}
    )

    memory.record(record)

    assert memory.get(record.experiment_id).backtest_metrics == {
        "sharpe_ratio": None,
        "profit_factor": None,
        "bars": [1, 2],
    }


@pytest.mark.parametrize(("limit", "offset"), [(0, 0), (1001, 0), (10, -1)])
def test_list_refuses_bad_paging(memory: ExperimentMemory, limit: int, offset: int) -> None:
    with pytest.raises(ValidationError):
        memory.list(limit=limit, offset=offset)


def test_record_refuses_an_unknown_status() -> None:
    with pytest.raises(ValidationError, match="'running'"):
        make_record(1, status="running")


def test_record_refuses_a_naive_created_at() -> None:
    with pytest.raises(ValidationError, match="timezone-aware"):
        make_record(1, created_at=datetime(2026, 1, 5, 9, 30))


def gate_failed(gate: str, **metrics: float) -> ExperimentRecord:
    """An experiment stopped by ``gate`` ("training" or "backtest")."""
    training_passed = gate != "training"
    return make_record(
        1,
        status="gate_failed",
        training_metrics={"test_metrics": {"test_accuracy": metrics.get("accuracy", 0.45)}},
        backtest_metrics=(
            {"metrics": {"sharpe_ratio": metrics.get("sharpe", -0.8)}} if training_passed else None
        ),
        gates={
            "training": {"passed": training_passed, "reason": "x"},
            **({"backtest": {"passed": False, "reason": "y"}} if training_passed else {}),
        },
        verdict=None,
    )


@pytest.mark.parametrize(
    ("record", "score"),
    [
        (make_record(1, verdict="promising", backtest_metrics={"sharpe_ratio": 1.2}), 2.2),
        (make_record(1, verdict="poor", backtest_metrics={"sharpe_ratio": 9.0}), 4.5),
        (make_record(1, verdict="neutral", backtest_metrics={"sharpe_ratio": -7.0}), -5.0),
        (gate_failed("backtest", sharpe=-0.8), -5.79),
        (gate_failed("training", accuracy=0.38), -6.62),
        (make_record(1, status="failed", error="boom"), -8.0),
        (make_record(1, status="cancelled"), None),
    ],
)
def test_experiment_score_bands(record: ExperimentRecord, score: float | None) -> None:
    assert experiment_score(record) == (None if score is None else pytest.approx(score))


def test_experiment_score_orders_outcomes() -> None:
    ranked = [
        make_record(1, verdict="promising", backtest_metrics={"sharpe_ratio": 1.5}),
        make_record(1, verdict="neutral", backtest_metrics={"sharpe_ratio": 0.3}),
        make_record(1, verdict="poor", backtest_metrics={"sharpe_ratio": -4.9}),
        gate_failed("backtest", sharpe=2.0),
        gate_failed("backtest", sharpe=-3.0),
        gate_failed("training", accuracy=0.39),
        gate_failed("training", accuracy=0.2),
        make_record(1, status="failed"),
    ]

    scores = [experiment_score(record) for record in ranked]

    assert scores == sorted(scores, reverse=True)
    assert len(set(scores)) == len(scores)


def test_experiment_score_floors_a_missing_metric() -> None:
    no_sharpe = gate_failed("backtest")
    no_sharpe = replace(no_sharpe, backtest_metrics={"metrics": {"sharpe_ratio": None}})

    assert experiment_score(no_sharpe) == pytest.approx(-6.0)
    assert experiment_score(gate_failed("training", accuracy=math.nan)) == pytest.approx(-7.0)


def test_summarize_experiments_rows() -> None:
    records = [
        gate_failed("training", accuracy=0.383),
        make_record(2, backtest_metrics={"metrics": {"sharpe_ratio": 0.81234, "win_rate": 0.58}}),
    ]

    rows = summarize_experiments(records, limit=5)

    assert [row["strategy_name"] for row in rows] == ["trial_1", "trial_2"]
    assert rows[0]["status"] == "gate_failed"
    assert rows[0]["test_accuracy"] == 0.383
    assert rows[0]["gates"] == {"training": "x"}
    assert rows[0]["score"] == pytest.approx(-6.617)
    assert rows[1]["sharpe_ratio"] == 0.8123
    assert rows[1]["win_rate"] == 0.58
    assert rows[1]["verdict"] == "neutral"
    assert rows[1]["gates"] == {"training": "passed", "backtest": "passed"}
    assert json.loads(json.dumps(rows)) == rows
    assert len(summarize_experiments(records, limit=1)) == 1


# -- the evaluation protocol: old single-window rows are kept, never scored -------------------


def test_a_row_recorded_before_migration_0005_is_kept_as_single_window(database_url: str) -> None:
    engine = create_db_engine(database_url)
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    with write_transaction(engine) as conn:
        config.attributes["connection"] = conn
        command.upgrade(config, "0004_operation_error_code")
    old = make_record(1, backtest_metrics={"sharpe_ratio": 4.8}, verdict="promising")
    row = {
        "experiment_id": old.experiment_id,
        "created_at": old.created_at,
        "updated_at": old.created_at,
        "strategy_name": old.strategy_name,
        "designer": old.designer,
        "status": old.status,
        "strategy": old.strategy,
        "design": old.design,
        "training_metrics": old.training_metrics,
        "backtest_metrics": old.backtest_metrics,
        "gates": old.gates,
        "verdict": old.verdict,
        "error": None,
    }
    with write_transaction(engine) as conn:
        conn.execute(insert(experiments).values(**row))  # no protocol column yet

    migrate(engine)
    memory = ExperimentMemory(engine)
    memory.record(make_record(2))

    kept = memory.get(old.experiment_id)
    assert kept.protocol == SINGLE_WINDOW
    assert kept.backtest_metrics == {"sharpe_ratio": 4.8}
    assert experiment_score(kept) is None
    assert [r.experiment_id for r in memory.list()] == [
        make_record(2).experiment_id,
        kept.experiment_id,
    ]
    assert [r.protocol for r in memory.list(protocol=WALK_FORWARD)] == [WALK_FORWARD]
    assert memory.count() == 2 and memory.count(protocol=WALK_FORWARD) == 1
    assert summarize_experiments([kept])[0]["protocol"] == SINGLE_WINDOW
    assert summarize_experiments([kept])[0]["score"] is None
    engine.dispose()


def test_new_records_are_walk_forward_and_filtered_by_protocol(memory: ExperimentMemory) -> None:
    memory.record(make_record(1, protocol=SINGLE_WINDOW))
    memory.record(make_record(2))

    assert make_record(2).protocol == WALK_FORWARD
    assert [r.strategy_name for r in memory.list(protocol=SINGLE_WINDOW)] == ["trial_1"]
    assert [r.strategy_name for r in memory.list(protocol=WALK_FORWARD)] == ["trial_2"]
    assert memory.count(protocol=SINGLE_WINDOW) == 1


def test_an_unknown_protocol_is_refused(memory: ExperimentMemory) -> None:
    with pytest.raises(ValidationError, match="'holdout'"):
        make_record(1, protocol="holdout")
    with pytest.raises(ValidationError, match="'holdout'"):
        memory.list(protocol="holdout")


def test_a_single_window_record_has_no_score() -> None:
    promising = make_record(1, verdict="promising", backtest_metrics={"sharpe_ratio": 1.2})

    assert experiment_score(promising) == pytest.approx(2.2)
    assert experiment_score(replace(promising, protocol=SINGLE_WINDOW)) is None


def test_summaries_never_carry_a_holdout_block() -> None:
    record = make_record(
        1,
        training_metrics={"test_accuracy": 0.52, "holdout": {"test_accuracy": 0.9876}},
        backtest_metrics={
            "sharpe_ratio": 0.8,
            "holdout": {"sharpe_ratio": 9.8765, "start_date": "2018-01-01"},
        },
    )

    text = json.dumps(summarize_experiments([record]))

    assert "9.8765" not in text and "0.9876" not in text and "holdout" not in text
    assert "2018" not in text
