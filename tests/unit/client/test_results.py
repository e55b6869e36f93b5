"""The client's result objects: headline numbers, frames and notebook HTML from API answers."""

from __future__ import annotations

import html

from ktrdr.client import Operation, Report, Rows


def _operation(data: dict) -> Operation:
    return Operation(data, _figure=lambda op: None, _report=lambda op_id: Report(op_id, ""))


CYCLE = {
    "operation_id": "op_research_1",
    "operation_type": "agent_research",
    "status": "completed",
    "progress": {"percentage": 100.0, "current_step": "assessed"},
    "result_summary": {"phase": "assessed"},
    "metadata": {
        "parameters": {
            "strategy_name": "rsi_trend",
            "verdict": "neutral",
            "verdict_reason": "dsr 0.40 < 0.95 (3 trials)",
            "holdout": None,
            "training_result": {"test_metrics": {"test_accuracy": 0.41, "confusion": [[1]]}},
            "backtest_result": {"metrics": {"sharpe_ratio": 0.8, "total_trades": 42}},
            "statistics": {"psr": 0.7, "dsr": 0.4, "bootstrap_ci": [-0.1, 1.2]},
        }
    },
}


def test_a_cycle_flattens_verdict_training_backtest_and_statistics_scalars():
    metrics = _operation(CYCLE).metrics()

    assert metrics == {
        "strategy": "rsi_trend",
        "verdict": "neutral",
        "verdict_reason": "dsr 0.40 < 0.95 (3 trials)",
        "test.test_accuracy": 0.41,
        "backtest.sharpe_ratio": 0.8,
        "backtest.total_trades": 42,
        "statistics.psr": 0.7,
        "statistics.dsr": 0.4,
    }


def test_a_backtest_shows_its_metrics_as_a_column_named_by_its_id():
    backtest = _operation(
        {
            "operation_id": "op_bt",
            "operation_type": "backtesting",
            "status": "completed",
            "result_summary": {"metrics": {"total_return": 0.05, "total_trades": 7}},
        }
    )

    frame = backtest.to_frame()

    assert list(frame.columns) == ["op_bt"]
    assert frame.loc["backtest.total_return", "op_bt"] == 0.05
    assert frame.loc["backtest.total_trades", "op_bt"] == 7


def test_a_running_operation_is_not_done_and_its_html_names_step_and_error():
    running = _operation(
        {
            "operation_id": "op_tr",
            "operation_type": "training",
            "status": "running",
            "progress": {"current_step": "epoch 2/5"},
            "error_message": None,
        }
    )
    failed = _operation({**running.data, "status": "failed", "error_message": "bad <data>"})

    assert not running.done and failed.done
    assert "epoch 2/5" in running._repr_html_()
    assert "bad &lt;data&gt;" in failed._repr_html_()


def test_rows_show_as_a_table_with_one_column_per_key():
    rows = Rows([{"symbol": "BTCUSD", "bars": 10}, {"symbol": "EURUSD", "bars": 5}])

    assert rows.to_frame()["symbol"].tolist() == ["BTCUSD", "EURUSD"]
    assert "<table" in rows._repr_html_() and "EURUSD" in rows._repr_html_()


def test_a_report_embeds_its_page_escaped_in_an_iframe_and_saves_it(tmp_path):
    page = '<html><body><div id="x">"quoted" & <b>bold</b></div></body></html>'
    report = Report("op_1", page)

    shown = report._repr_html_()
    saved = report.save(tmp_path / "r.html")

    assert shown.startswith("<iframe") and html.escape(page, quote=True) in shown
    assert 'sandbox="allow-scripts"' in shown and "allow-same-origin" not in shown
    assert saved.read_text(encoding="utf-8") == page


def test_plain_reprs_stay_one_short_line():
    operation = _operation(CYCLE)
    report = Report("op_1", "<html>" + "x" * 100_000 + "</html>")

    assert repr(operation) == "Operation('op_research_1', agent_research, completed)"
    assert repr(report) == "Report('op_1', 100,013 characters of HTML)"
