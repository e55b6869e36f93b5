from __future__ import annotations

import logging
from pathlib import Path

import pandas as pd
import pytest
from support.report_frames import equity_frame, trades_frame

from ktrdr.agents.assessment import write_assessment
from ktrdr.data import DataRepository
from ktrdr.errors import ConflictError
from ktrdr.operations import OperationsService, OperationsStore
from ktrdr.reports import OperationNotFinishedError, ReportBuilder, ReportWriter


@pytest.fixture
def operations(tmp_path: Path):
    store = OperationsStore.from_url(f"sqlite:///{tmp_path / 'ktrdr.db'}")
    yield OperationsService(store, progress_min_interval=0.0)
    store.dispose()


def _completed_backtest(operations: OperationsService, home: Path, bars: pd.DataFrame) -> str:
    op_id = operations.create(
        "backtesting", metadata={"symbol": "X", "timeframe": "1h"}
    ).operation_id
    operations.start(op_id)
    folder = home / "backtests" / op_id
    folder.mkdir(parents=True)
    equity_frame(bars).to_parquet(folder / "equity.parquet")
    trades_frame(bars).to_parquet(folder / "trades.parquet")
    artifacts = {name: str(folder / f"{name}.parquet") for name in ("equity", "trades")}
    operations.complete(op_id, {"metrics": {}, "bars": len(bars), "artifacts": artifacts})
    return op_id


def test_the_writer_stores_the_report_beside_the_artifacts(operations, tmp_path, bars) -> None:
    builder = ReportBuilder(operations, DataRepository(tmp_path / "data"), tmp_path)
    op_id = _completed_backtest(operations, tmp_path, bars)
    writer = ReportWriter(builder)
    path = writer.operation_ended(op_id).result(timeout=60)
    writer.close()
    assert path == tmp_path / "backtests" / op_id / "report.html"
    assert "<h2>Equity</h2>" in path.read_text()


def test_a_report_that_fails_is_logged_and_leaves_the_operation_alone(
    operations, tmp_path, bars, caplog, monkeypatch
) -> None:
    builder = ReportBuilder(operations, DataRepository(tmp_path / "data"), tmp_path)
    op_id = _completed_backtest(operations, tmp_path, bars)
    before = operations.get(op_id)

    def broken(operation):
        raise RuntimeError("plotly exploded")

    monkeypatch.setattr(builder, "render", broken)
    with caplog.at_level(logging.ERROR, logger="ktrdr.reports.writer"):
        assert ReportWriter(builder).write_quietly(op_id) is None
    assert "report not written" in caplog.text
    after = operations.get(op_id)
    assert (after.status, after.result_summary) == (before.status, before.result_summary)
    assert not (tmp_path / "backtests" / op_id / "report.html").exists()


def test_jobs_that_did_not_complete_get_no_report(operations, tmp_path) -> None:
    builder = ReportBuilder(operations, DataRepository(tmp_path / "data"), tmp_path)
    op_id = operations.create("training").operation_id
    operations.start(op_id)
    with pytest.raises(OperationNotFinishedError, match="still running"):
        builder.report(op_id)
    operations.fail(op_id, "boom")
    with pytest.raises(ConflictError, match="failed: it stored no artifacts"):
        builder.report(op_id)
    assert ReportWriter(builder).write_quietly(op_id) is None


def _cycle_with_assessment(operations: OperationsService, home: Path, assessment_op: str) -> str:
    path = home / "strategies" / "alpha" / "assessment.json"
    parameters = {
        "strategy_name": "alpha",
        "assessment_op_id": assessment_op,
        "assessment_path": str(path),
        "verdict": "neutral",
    }
    op_id = operations.create("agent_research", metadata={"parameters": parameters}).operation_id
    operations.start(op_id)
    operations.complete(op_id, {})
    return op_id


def test_a_cycle_page_shows_its_own_assessment_not_a_later_one(operations, tmp_path) -> None:
    builder = ReportBuilder(operations, DataRepository(tmp_path / "data"), tmp_path)
    first = _cycle_with_assessment(operations, tmp_path, "op_agent_assessment_1")
    second = _cycle_with_assessment(operations, tmp_path, "op_agent_assessment_2")
    strategies = tmp_path / "strategies"
    assessment = {"strategy_name": "alpha", "verdict": "neutral", "strengths": ["second's"]}
    write_assessment(strategies, assessment, "op_agent_assessment_2")

    later = builder.render(operations.get(second).model_dump(mode="json"))
    earlier = builder.render(operations.get(first).model_dump(mode="json"))

    assert "second&#x27;s" in later and "Superseded" not in later
    assert "second&#x27;s" not in earlier
    assert "Superseded: a later cycle assessed alpha again" in earlier


def test_an_operation_ending_after_the_writer_closed_queues_nothing(operations, tmp_path, bars):
    builder = ReportBuilder(operations, DataRepository(tmp_path / "data"), tmp_path)
    op_id = _completed_backtest(operations, tmp_path, bars)
    writer = ReportWriter(builder)
    writer.close()

    assert writer.operation_ended(op_id).result(timeout=1) is None
    assert not (tmp_path / "backtests" / op_id / "report.html").exists()
