"""``--follow``: live progress bars of operations polled from the API until they end.

``follow_operation`` draws one bar (or two: a parent and its current child) and renders a
summary when the operation completes. ``OperationBoard`` is the bar display itself, for
commands that decide what to show on their own.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from types import TracebackType
from typing import Any
from urllib.parse import quote

import typer
from rich import box
from rich.console import Console
from rich.progress import (
    BarColumn,
    Progress,
    TaskID,
    TaskProgressColumn,
    TextColumn,
    TimeElapsedColumn,
)
from rich.table import Table

from ktrdr.cli.client import ApiClient, api_client
from ktrdr.cli.output import console, print_json

POLL_INTERVAL_SECONDS = 0.5
TERMINAL_STATUSES = frozenset({"completed", "failed", "cancelled"})
ACTIVE_STATUSES = frozenset({"pending", "running"})
DETACH_EXIT_CODE = 130  # as for any command stopped with Ctrl+C, so `a --follow && b` stops
MISSING = "—"

Operation = dict[str, Any]
SummaryRenderer = Callable[[Operation], None]


class OperationBoard:
    """Live progress bars, one per operation; ``update`` shows exactly the operations given.

    Bars keep their order of first appearance: ``update([parent, child])`` draws the parent
    above its current child, and a child that is no longer passed loses its bar.
    """

    def __init__(self, out: Console) -> None:
        self._progress = Progress(
            TextColumn("[bold]{task.fields[label]}"),
            BarColumn(),
            TaskProgressColumn(),
            TextColumn("{task.fields[step]}"),
            TextColumn("{task.fields[detail]}"),
            TimeElapsedColumn(),
            console=out,
        )
        self._tasks: dict[str, TaskID] = {}

    def __enter__(self) -> OperationBoard:
        self._progress.start()
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self._progress.stop()

    def update(self, operations: Sequence[Operation]) -> None:
        """Show these operations' progress, adding and removing bars as needed."""
        shown = {op["operation_id"] for op in operations}
        for operation_id in [known for known in self._tasks if known not in shown]:
            self._progress.remove_task(self._tasks.pop(operation_id))
        for op in operations:
            fields = bar_fields(op)
            task = self._tasks.get(op["operation_id"])
            if task is None:
                self._tasks[op["operation_id"]] = self._progress.add_task("", total=100, **fields)
            else:
                self._progress.update(task, **fields)


def bar_fields(op: Operation) -> dict[str, Any]:
    """What one bar shows: type, percentage, step ("epoch 5/20") and the step's numbers."""
    progress = op.get("progress") or {}
    status = op["status"]
    step = status if status in TERMINAL_STATUSES else progress.get("current_step") or status
    return {
        "label": op["operation_type"],
        "completed": progress.get("percentage") or 0.0,
        "step": step,
        "detail": progress_detail(progress),
    }


def progress_detail(progress: dict[str, Any]) -> str:
    """Training numbers from ``progress.context``, else items done: 'train 0.9412  val ...'."""
    context = progress.get("context") or {}
    parts = [
        f"{label} {context[key]:.4f}"
        for key, label in (("train_loss", "train"), ("val_loss", "val"))
        if isinstance(context.get(key), int | float)
    ]
    if isinstance(context.get("val_accuracy"), int | float):
        parts.append(f"acc {context['val_accuracy']:.1%}")
    if not parts and progress.get("items_total"):
        parts.append(f"{progress.get('items_done') or 0}/{progress['items_total']}")
    return "  ".join(parts)


def follow_operation(
    client: ApiClient,
    operation_id: str,
    *,
    render_summary: SummaryRenderer,
    with_child: bool = False,
    as_json: bool = False,
    interval: float = POLL_INTERVAL_SECONDS,
) -> Operation:
    """Poll the operation every ``interval`` s with a live bar until it ends; return it.

    Completed: ``render_summary(operation)`` (or the operation as JSON with ``as_json``).
    Failed or cancelled: its error as one line and exit 1. Ctrl+C detaches, leaving the
    operation running, and says how to check on it. ``with_child`` adds a bar for the
    operation's current child (e.g. the training inside a research).
    """
    try:
        if as_json:
            operation = wait_for_operation(client, operation_id, interval=interval)
        else:
            with OperationBoard(console()) as board:
                operation = wait_for_operation(
                    client,
                    operation_id,
                    on_update=board.update,
                    with_child=with_child,
                    interval=interval,
                )
    except KeyboardInterrupt:
        detach(operation_id)
    if as_json:
        print_json(operation)
    if operation["status"] != "completed":
        typer.echo(f"error: {_ended_line(operation)}", err=True)
        raise typer.Exit(1)
    if not as_json:
        render_summary(operation)
    return operation


def detach(operation_id: str) -> None:
    """Leave ``operation_id`` running after Ctrl+C: say how to check on it, exit 130."""
    typer.echo(
        f"detached from {operation_id}; it keeps running — check on it with "
        f"`ktrdr operations status {operation_id}`",
        err=True,
    )
    raise typer.Exit(DETACH_EXIT_CODE) from None


def wait_until_completed(client: ApiClient, operation_id: str, what: str) -> Operation:
    """Wait for ``operation_id`` quietly (Ctrl+C detaches); the operation once completed, else
    ``error: <what> <id> <status>: <reason>`` and exit 1."""
    try:
        operation = wait_for_operation(client, operation_id)
    except KeyboardInterrupt:
        detach(operation_id)
    if operation["status"] != "completed":
        reason = operation.get("error_message") or operation["status"]
        typer.echo(f"error: {what} {operation_id} {operation['status']}: {reason}", err=True)
        raise typer.Exit(1)
    return operation


def start_job(
    ctx: typer.Context,
    path: str,
    body: dict[str, Any],
    *,
    noun: str,
    follow: bool,
    as_json: bool,
    render_summary: SummaryRenderer,
) -> None:
    """POST a job request (``None`` fields left out); follow it, or say how to check on it."""
    with api_client(ctx) as client:
        payload = client.post(path, {k: v for k, v in body.items() if v is not None})
        if follow:
            follow_operation(
                client, payload["operation_id"], render_summary=render_summary, as_json=as_json
            )
            return
    if as_json:
        print_json(payload)
        return
    operation_id = payload["operation_id"]
    console().print(f"{noun} started: {operation_id}")
    console().print(f"check on it with `ktrdr operations status {operation_id}`")


def wait_for_operation(
    client: ApiClient,
    operation_id: str,
    *,
    on_update: Callable[[list[Operation]], None] | None = None,
    with_child: bool = False,
    interval: float = POLL_INTERVAL_SECONDS,
) -> Operation:
    """Poll GET /operations/{id} until a terminal status; ``on_update`` sees each poll."""
    path = f"/operations/{quote(operation_id, safe='')}"
    while True:
        operation = client.get(path)["data"]
        if on_update is not None:
            child = current_child(client.get(f"{path}/children")["data"]) if with_child else None
            on_update([operation] if child is None else [operation, child])
        if operation["status"] in TERMINAL_STATUSES:
            return operation
        time.sleep(interval)


def current_child(children: Sequence[Operation]) -> Operation | None:
    """The child to show beside its parent: the newest active one, else the newest one."""
    active = [child for child in children if child["status"] in ACTIVE_STATUSES]
    return (active or list(children) or [None])[0]


def summary_table(title: str, rows: Sequence[tuple[str, str]]) -> Table:
    """A two-column table of labelled values, e.g. ('Sharpe ratio', '1.23')."""
    table = Table(title=title, box=box.SIMPLE_HEAD, show_header=False, title_justify="left")
    table.add_column(style="bold")
    table.add_column(justify="right", overflow="fold")
    for label, value in rows:
        table.add_row(label, value)
    return table


def format_value(value: Any, kind: str = "number") -> str:
    """A metric for people: 'percent' 0.1234 -> '12.34%', 'int' 7 -> '7', 'number' -> '1.2346'.

    None (and NaN) show as '—'.
    """
    if value is None or (isinstance(value, float) and value != value):
        return MISSING
    if kind == "percent":
        return f"{value:.2%}"
    if kind == "int":
        return f"{int(value):d}"
    if kind == "ratio":
        return f"{value:.2f}"
    return f"{value:.4f}" if isinstance(value, float) else str(value)


def _ended_line(op: Operation) -> str:
    verb = "was cancelled" if op["status"] == "cancelled" else "failed"
    reason = op.get("error_message") or "no reason recorded"
    return f"{op['operation_type']} {op['operation_id']} {verb}: {reason}"
