"""The design job on a real store: saves the strategy, shares ktrdr.db with Optuna, learns."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import optuna
import pandas as pd
import pytest
from optuna.trial import TrialState
from support.eventually import terminal

from ktrdr.agents.design.job import run_design_job
from ktrdr.agents.design.space import WARM_START_TRIALS
from ktrdr.agents.memory import SINGLE_WINDOW, ExperimentMemory, ExperimentRecord
from ktrdr.agents.workers import DESIGN_JOB
from ktrdr.data import DataRepository, DataWindows
from ktrdr.errors import ValidationError
from ktrdr.execution import JobSpec, LocalExecutor, worker_operations
from ktrdr.execution import reporter as reporter_module
from ktrdr.operations import OperationsService, OperationsStore, OperationStatus
from ktrdr.settings import get_settings, reset_settings
from ktrdr.strategy import load_strategy, strategy_to_dict

STUDY = "ktrdr-offline-designer-EURUSD-1h"


@pytest.fixture
def operations(ktrdr_home: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[OperationsService]:
    """The worker's operations service on a fresh store in the temp home, progress unthrottled."""
    monkeypatch.setenv("KTRDR_PROGRESS_MIN_INTERVAL", "0")
    reset_settings()
    monkeypatch.setattr(reporter_module, "_operations", None)
    service = worker_operations()
    yield service
    service.store.dispose()


def running_design_op(operations: OperationsService) -> str:
    operation = operations.create("agent_design")
    operations.start(operation.operation_id)
    return operation.operation_id


def study_trials() -> list[optuna.trial.FrozenTrial]:
    storage = optuna.storages.RDBStorage(get_settings().resolved_database_url)
    return optuna.load_study(study_name=STUDY, storage=storage).trials


def test_the_job_saves_a_strategy_that_loads_back(operations, ktrdr_home) -> None:
    operation_id = running_design_op(operations)

    result = run_design_job(operation_id, {"designer": "offline", "brief": None, "seed": 42})

    path = Path(result["strategy_path"])
    assert path == ktrdr_home / "strategies" / f"{result['strategy_name']}.yaml"
    assert result["strategy_name"] == "offline_eurusd_1h_t0000"
    loaded = load_strategy(path)
    assert loaded.name == result["strategy_name"]
    assert result["designer"] == "offline" and result["llm_model"] is None
    assert result["tokens"] == {"input": 0, "output": 0} and result["cost_usd"] == 0.0
    assert result["design"]["study"] == STUDY and result["design"]["trial_number"] == 0
    assert result["design"]["params"] == WARM_START_TRIALS[0]
    assert result["design"]["params"]["label_source"] == loaded.training.labels.source
    progress = operations.get(operation_id).progress
    assert progress.percentage == 100
    assert progress.current_step == f"designed {loaded.name} (trial 0)"


def test_optuna_and_the_ktrdr_schema_share_one_database(operations) -> None:
    run_design_job(running_design_op(operations), {"designer": "offline", "seed": 1})

    reopened = OperationsStore.from_url(get_settings().resolved_database_url)  # migrates again
    try:
        operation_id = running_design_op(OperationsService(reopened))
        run_design_job(operation_id, {"designer": "offline", "seed": 1})
        assert OperationsService(reopened).get(operation_id).status == OperationStatus.RUNNING
    finally:
        reopened.dispose()
    states = [t.state for t in study_trials()]
    assert states[:2] == [TrialState.RUNNING, TrialState.RUNNING]
    assert states[2:] == [TrialState.WAITING] * (len(WARM_START_TRIALS) - 2)


def test_the_next_design_learns_the_recorded_outcome(operations) -> None:
    first = run_design_job(running_design_op(operations), {"designer": "offline", "seed": 3})
    ExperimentMemory(operations.store.engine).record(
        ExperimentRecord(
            experiment_id="op_agent_research_20260101_000000_0000000a",
            created_at=datetime(2026, 1, 1, tzinfo=UTC),
            strategy_name=first["strategy_name"],
            designer="offline",
            status="completed",
            strategy=strategy_to_dict(load_strategy(first["strategy_path"])),
            design=first["design"],
            backtest_metrics={"metrics": {"sharpe_ratio": 0.8}},
            verdict="neutral",
        )
    )

    second = run_design_job(running_design_op(operations), {"designer": "offline", "seed": 3})

    trials = study_trials()
    assert second["design"]["trial_number"] == 1
    assert (trials[0].state, trials[0].value) == (TrialState.COMPLETE, pytest.approx(0.8))
    assert trials[1].state == TrialState.RUNNING


def test_the_brief_and_request_choose_the_market(operations) -> None:
    from_brief = run_design_job(
        running_design_op(operations), {"designer": "offline", "brief": "NASDAQ daily", "seed": 1}
    )
    from_request = run_design_job(
        running_design_op(operations),
        {"designer": "offline", "brief": "NASDAQ daily", "seed": 1, "symbol": "SP500"},
    )

    assert from_brief["strategy_name"] == "offline_nasdaq_1d_t0000"
    # One study per data set: SP500's study starts at its own trial 0.
    assert from_request["strategy_name"] == "offline_sp500_1d_t0000"
    assert from_request["design"]["study"] == "ktrdr-offline-designer-SP500-1d"


def test_the_job_seals_the_holdout_and_designs_on_the_research_window(operations) -> None:
    result = run_design_job(running_design_op(operations), {"designer": "offline", "seed": 2})

    settings = get_settings()
    windows = DataWindows(
        operations.store.engine,
        DataRepository(settings.path("data")),
        holdout_fraction=settings.holdout_fraction,
    )
    [window] = windows.list()
    assert (window.symbol, window.timeframe) == ("EURUSD", "1h")
    date_range = load_strategy(result["strategy_path"]).training_data.date_range
    assert pd.Timestamp(date_range.end, tz="UTC") < window.holdout_start
    assert pd.Timestamp(date_range.start, tz="UTC") == window.research_start.normalize()


def test_single_window_experiments_are_not_told_to_the_study(operations) -> None:
    first = run_design_job(running_design_op(operations), {"designer": "offline", "seed": 3})
    ExperimentMemory(operations.store.engine).record(
        ExperimentRecord(
            experiment_id="op_agent_research_20260101_000000_0000000b",
            created_at=datetime(2026, 1, 1, tzinfo=UTC),
            strategy_name=first["strategy_name"],
            designer="offline",
            status="completed",
            design=first["design"],
            backtest_metrics={"metrics": {"sharpe_ratio": 4.8}},
            verdict="promising",
            protocol=SINGLE_WINDOW,
        )
    )

    run_design_job(running_design_op(operations), {"designer": "offline", "seed": 3})

    assert [t.state for t in study_trials()[:2]] == [TrialState.RUNNING, TrialState.RUNNING]


def test_an_unavailable_designer_is_refused(operations) -> None:
    with pytest.raises(ValidationError, match="designer 'mystery' is not available"):
        run_design_job(running_design_op(operations), {"designer": "mystery", "seed": 1})


def test_a_real_worker_runs_the_design_job(operations, ktrdr_home) -> None:
    operation = operations.create("agent_design")
    executor = LocalExecutor(
        operations,
        workers=1,
        database_url=get_settings().resolved_database_url,
        home=ktrdr_home,
        grace_seconds=5.0,
    )
    try:
        executor.submit(
            JobSpec(operation_id=operation.operation_id, job=DESIGN_JOB, request={"seed": 9})
        )
        done = terminal(operations, operation.operation_id, timeout=120)
    finally:
        executor.shutdown(wait=False)

    assert done.status == OperationStatus.COMPLETED, done.error_message
    assert load_strategy(done.result_summary["strategy_path"]).name == "offline_eurusd_1h_t0000"
