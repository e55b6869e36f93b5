"""JobEvents: every listener hears of every ended job; a failing listener harms no other."""

from __future__ import annotations

from ktrdr.execution.events import JobEvents


def test_every_listener_hears_each_job_even_when_one_fails() -> None:
    events = JobEvents()
    heard: list[str] = []

    def broken(_operation_id: str) -> None:
        raise RuntimeError("listener bug")

    events.subscribe(broken)
    events.subscribe(heard.append)
    events.job_ended("op_training_20260101_000000_00000001")
    events.job_ended("op_backtesting_20260101_000000_00000002")
    assert heard == [
        "op_training_20260101_000000_00000001",
        "op_backtesting_20260101_000000_00000002",
    ]
