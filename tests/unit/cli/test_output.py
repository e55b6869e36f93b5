"""Rendering helpers: durations, times, tables."""

from __future__ import annotations

import pytest
from rich.console import Console

from ktrdr.cli.output import format_duration, format_time, operation_details, operations_table


@pytest.mark.parametrize(
    ("seconds", "text"),
    [(None, "-"), (0.0, "0.0s"), (4.24, "4.2s"), (185, "3m 05s"), (7384, "2h 03m")],
)
def test_format_duration(seconds, text):
    assert format_duration(seconds) == text


def test_format_time_drops_fractions_and_zone():
    assert format_time("2026-01-02T03:04:05.678+00:00") == "2026-01-02 03:04:05"
    assert format_time(None) == "-"


def _render(renderable) -> str:
    console = Console(width=200, record=True)
    console.print(renderable)
    return console.export_text()


def test_an_empty_operations_table_still_has_its_headers():
    text = _render(operations_table([]))

    for header in ("id", "type", "status", "progress", "step", "created", "duration"):
        assert header in text


def test_operation_details_show_parent_progress_error_and_result():
    op = {
        "operation_id": "op_training_1",
        "operation_type": "training",
        "status": "failed",
        "parent_operation_id": "op_agent_research_1",
        "created_at": "2026-01-02T03:04:05+00:00",
        "started_at": None,
        "completed_at": None,
        "duration_seconds": None,
        "progress": {
            "percentage": 30.0,
            "current_step": "epoch 3",
            "items_done": 3,
            "items_total": 10,
        },
        "metadata": {"symbol": "EURUSD", "parameters": {}},
        "error_message": "no bars for EURUSD 1h",
        "result_summary": {"accuracy": 0.5},
    }

    text = _render(operation_details(op))

    assert "op_agent_research_1" in text
    assert "30.0% · epoch 3 · 3/10" in text
    assert "no bars for EURUSD 1h" in text
    assert '"accuracy": 0.5' in text
    assert "EURUSD" in text
