"""A research cycle on a multi-symbol strategy backtests its model as one portfolio."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest
from support.cycles import finished, trigger, write_quick_portfolio_strategy
from support.server import ServerProcess


@pytest.fixture
def server(tmp_path: Path) -> Iterator[ServerProcess]:
    home = tmp_path / "home"
    home.mkdir()
    write_quick_portfolio_strategy(home)
    running = ServerProcess(home).start()
    yield running
    running.stop()


def test_a_multi_symbol_cycle_backtests_a_portfolio(server: ServerProcess) -> None:
    research = finished(server, trigger(server, strategy="quick_indices"))
    assert research["status"] == "completed", research["error_message"]
    params = research["metadata"]["parameters"]

    backtest = server.operation(params["backtest_op_id"])
    summary = backtest["result_summary"]
    assert backtest["status"] == "completed" and summary["mode"] == "walk_forward"
    assert summary["symbols"] == ["SP500", "NASDAQ"]
    assert set(summary["symbol_metrics"]) == {"SP500", "NASDAQ"}
    assert backtest["metadata"]["parameters"]["symbols"] == ["SP500", "NASDAQ"]
    trades = pd.read_parquet(summary["artifacts"]["trades"])
    assert set(trades["symbol"]) == {"SP500", "NASDAQ"}
    assert set(trades["exit_reason"]) <= {"signal", "stop", "take_profit", "end"}
    assert params["backtest_result"] == summary

    for operation_id in (params["backtest_op_id"], research["operation_id"]):
        report = server.client.get(f"/operations/{operation_id}/report")
        assert report.status_code == 200, report.text[:500]
        assert report.headers["content-type"].startswith("text/html")
        assert "plotly" in report.text, operation_id
        assert "SP500 + NASDAQ" in report.text, operation_id
