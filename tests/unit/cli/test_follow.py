"""``--follow``: polling, bars, child bar, summaries, failures and Ctrl+C, with a fake API."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import typer
from rich.console import Console

from ktrdr.cli.follow import (
    DETACH_EXIT_CODE,
    OperationBoard,
    bar_fields,
    current_child,
    follow_operation,
    format_value,
    progress_detail,
    wait_for_operation,
)

PARENT = "op_agent_research_1"


def op(
    operation_id: str = PARENT,
    status: str = "running",
    percentage: float = 0.0,
    step: str | None = None,
    context: dict[str, Any] | None = None,
    **extra: Any,
) -> dict[str, Any]:
    operation_type = operation_id.split("_")[1]
    return {
        "operation_id": operation_id,
        "operation_type": operation_type,
        "status": status,
        "progress": {"percentage": percentage, "current_step": step, "context": context or {}},
        **extra,
    }


class FakeClient:
    """Answers GET /operations/{id} from a script of states; the last one repeats."""

    def __init__(
        self, states: list[dict[str, Any]], children: list[list[dict[str, Any]]] | None = None
    ) -> None:
        self._states: Iterator[dict[str, Any]] = iter(states)
        self._children: Iterator[list[dict[str, Any]]] = iter(children or [])
        self.paths: list[str] = []

    def get(self, path: str, params: dict[str, Any] | None = None) -> dict[str, Any]:
        self.paths.append(path)
        if path.endswith("/children"):
            return {"success": True, "data": next(self._children)}
        return {"success": True, "data": next(self._states)}


class InterruptingClient:
    def get(self, path: str, params: dict[str, Any] | None = None) -> dict[str, Any]:
        raise KeyboardInterrupt


def test_wait_polls_until_a_terminal_status():
    client = FakeClient([op(percentage=10), op(percentage=60), op(status="completed")])
    seen: list[list[dict[str, Any]]] = []

    final = wait_for_operation(client, PARENT, on_update=seen.append, interval=0)

    assert final["status"] == "completed"
    assert [batch[0]["progress"]["percentage"] for batch in seen] == [10, 60, 0.0]
    assert client.paths == [f"/operations/{PARENT}"] * 3


def test_wait_with_child_shows_the_parent_and_its_current_child():
    child = op("op_training_2", percentage=40, step="epoch 2/5")
    client = FakeClient(
        [op(percentage=30), op(status="completed", percentage=100)],
        [[child], [op("op_training_2", status="completed", percentage=100)]],
    )
    seen: list[list[str]] = []

    wait_for_operation(
        client,
        PARENT,
        on_update=lambda ops: seen.append([o["operation_id"] for o in ops]),
        with_child=True,
        interval=0,
    )

    assert seen == [[PARENT, "op_training_2"], [PARENT, "op_training_2"]]
    assert f"/operations/{PARENT}/children" in client.paths


def test_current_child_prefers_the_newest_active_one():
    done = op("op_training_3", status="completed")
    running = op("op_backtesting_4", status="running")
    older = op("op_training_1", status="running")

    assert current_child([done, running, older]) is running
    assert current_child([done]) is done
    assert current_child([]) is None


def test_bar_fields_show_the_step_and_training_numbers():
    running = op(
        "op_training_1",
        percentage=42.5,
        step="epoch 5/20",
        context={"train_loss": 0.91234, "val_loss": 0.95, "val_accuracy": 0.523},
    )

    fields = bar_fields(running)

    assert fields == {
        "label": "training",
        "completed": 42.5,
        "step": "epoch 5/20",
        "detail": "train 0.9123  val 0.9500  acc 52.3%",
    }
    assert bar_fields(op(status="failed", step="epoch 5/20"))["step"] == "failed"
    assert bar_fields(op(status="pending"))["step"] == "pending"


def test_progress_detail_falls_back_to_items():
    assert progress_detail({"items_done": 3, "items_total": 8}) == "3/8"
    assert progress_detail({}) == ""


def test_board_keeps_a_bar_per_shown_operation():
    out = Console(record=True, width=160, force_terminal=False)
    child_a = op("op_training_2", percentage=50, step="epoch 1/2")
    child_b = op("op_backtesting_3", percentage=20, step="predicting")

    with OperationBoard(out) as board:
        board.update([op(percentage=30, step="training"), child_a])
        board.update([op(percentage=60, step="backtesting"), child_b])

    text = out.export_text()
    assert "agent" in text
    assert "backtesting" in text
    assert "predicting" in text
    assert "epoch 1/2" not in text  # the finished child's bar was removed


@pytest.mark.parametrize(
    ("value", "kind", "text"),
    [
        (0.1234, "percent", "12.34%"),
        (-0.05, "percent", "-5.00%"),
        (1.23456, "ratio", "1.23"),
        (7, "int", "7"),
        (0.98765, "number", "0.9877"),
        (None, "percent", "—"),
        (float("nan"), "ratio", "—"),
    ],
)
def test_format_value(value, kind, text):
    assert format_value(value, kind) == text


def test_follow_renders_the_summary_of_a_completed_operation(capsys):
    final = op("op_training_1", status="completed", percentage=100, result_summary={"x": 1})
    rendered: list[dict[str, Any]] = []

    returned = follow_operation(
        FakeClient([op("op_training_1"), final]),
        "op_training_1",
        render_summary=rendered.append,
        interval=0,
    )

    assert returned == final
    assert rendered == [final]
    assert capsys.readouterr().err == ""


@pytest.mark.parametrize(("status", "verb"), [("failed", "failed"), ("cancelled", "was cancelled")])
def test_follow_ends_with_one_error_line_and_exit_1(capsys, status, verb):
    ended = op("op_training_1", status=status, error_message="loss is NaN at epoch 3")
    rendered: list[dict[str, Any]] = []

    with pytest.raises(typer.Exit) as exit_info:
        follow_operation(
            FakeClient([ended]), "op_training_1", render_summary=rendered.append, interval=0
        )

    assert exit_info.value.exit_code == 1
    assert rendered == []
    assert capsys.readouterr().err == (
        f"error: training op_training_1 {verb}: loss is NaN at epoch 3\n"
    )


def test_follow_as_json_prints_the_final_operation(capsys):
    final = op("op_backtesting_1", status="completed", percentage=100)

    follow_operation(
        FakeClient([final]), "op_backtesting_1", render_summary=pytest.fail, as_json=True
    )

    assert '"operation_id": "op_backtesting_1"' in capsys.readouterr().out


def test_ctrl_c_detaches_and_says_how_to_check_back(capsys):
    with pytest.raises(typer.Exit) as exit_info:
        follow_operation(InterruptingClient(), "op_training_9", render_summary=pytest.fail)

    assert exit_info.value.exit_code == DETACH_EXIT_CODE
    err = capsys.readouterr().err
    assert "detached from op_training_9; it keeps running" in err
    assert "ktrdr operations status op_training_9" in err
