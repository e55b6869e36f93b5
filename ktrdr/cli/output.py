"""Rendering shared by the commands: Rich tables, raw JSON, status colours, durations."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

import typer
from rich import box
from rich.console import Console
from rich.table import Table
from rich.text import Text

STATUS_STYLES = {
    "pending": "yellow",
    "running": "cyan",
    "completed": "green",
    "failed": "red",
    "cancelled": "magenta",
}
OPERATION_COLUMNS = ("id", "type", "status", "progress", "step", "created", "duration")
_ONE_LINE_COLUMNS = frozenset({"status", "progress", "created", "duration"})
PIPE_WIDTH = 200  # redirected output is read by tools and people: don't fold it to 80 columns


def console() -> Console:
    """A console on the current stdout (re-created so redirection and tests see the output)."""
    out = Console(highlight=False)
    return out if out.is_terminal else Console(highlight=False, width=PIPE_WIDTH)


def print_json(payload: Any) -> None:
    """Print ``payload`` as indented JSON, nothing else, for scripts and ``jq``."""
    typer.echo(json.dumps(payload, indent=2, ensure_ascii=False))


def status_text(status: str) -> Text:
    """The status word in its colour: completed green, failed red, running cyan, ..."""
    return Text(status, style=STATUS_STYLES.get(status, ""))


def format_duration(seconds: float | None) -> str:
    """A short human duration: 4.2 -> '4.2s', 185 -> '3m 05s', 7384 -> '2h 03m', None -> '-'."""
    if seconds is None:
        return "-"
    if seconds < 60:
        return f"{seconds:.1f}s"
    minutes, secs = divmod(round(seconds), 60)
    if minutes < 60:
        return f"{minutes}m {secs:02d}s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h {minutes:02d}m"


def format_time(value: str | None) -> str:
    """An ISO timestamp as 'YYYY-MM-DD HH:MM:SS' (UTC as stored), or '-'."""
    if not value:
        return "-"
    return datetime.fromisoformat(value).strftime("%Y-%m-%d %H:%M:%S")


def format_day(value: str | None) -> str:
    """The date of an ISO timestamp ('2017-09-01T13:00:00+00:00' -> '2017-09-01'), or '—'."""
    return value[:10] if value else "—"


def format_percentage(value: float | None) -> str:
    """Progress as '42.0%'."""
    return f"{value or 0.0:.1f}%"


def operations_table(operations: list[dict[str, Any]], *, title: str | None = None) -> Table:
    """A table of operations (id, type, status, progress %, step, created, duration)."""
    table = Table(title=title, box=box.SIMPLE_HEAD)
    for column in OPERATION_COLUMNS:
        # Ids, types and steps fold on a narrow terminal; the short columns stay on one line.
        table.add_column(column, overflow="fold", no_wrap=column in _ONE_LINE_COLUMNS)
    for op in operations:
        progress = op.get("progress") or {}
        table.add_row(
            op["operation_id"],
            op["operation_type"],
            status_text(op["status"]),
            format_percentage(progress.get("percentage")),
            progress.get("current_step") or "-",
            format_time(op.get("created_at")),
            format_duration(op.get("duration_seconds")),
        )
    return table


def operation_details(op: dict[str, Any]) -> Table:
    """Every field of one operation as a two-column grid; results and errors pretty-printed."""
    grid = Table.grid(padding=(0, 2))
    grid.add_column(style="bold")
    grid.add_column()
    progress = op.get("progress") or {}
    rows: list[tuple[str, Any]] = [
        ("id", op["operation_id"]),
        ("type", op["operation_type"]),
        ("status", status_text(op["status"])),
        ("parent", op.get("parent_operation_id") or "-"),
        ("created", format_time(op.get("created_at"))),
        ("started", format_time(op.get("started_at"))),
        ("completed", format_time(op.get("completed_at"))),
        ("duration", format_duration(op.get("duration_seconds"))),
        ("progress", _progress_line(progress)),
    ]
    metadata = op.get("metadata") or {}
    rows += [(key, str(value)) for key, value in metadata.items() if value and key != "parameters"]
    if metadata.get("parameters"):
        rows.append(("parameters", _pretty(metadata["parameters"])))
    if op.get("error_message"):
        rows.append(("error", Text(op["error_message"], style="red")))
    if op.get("result_summary"):
        rows.append(("result", _pretty(op["result_summary"])))
    for label, value in rows:
        grid.add_row(label, value)
    return grid


def _progress_line(progress: dict[str, Any]) -> str:
    parts = [format_percentage(progress.get("percentage"))]
    if progress.get("current_step"):
        parts.append(progress["current_step"])
    if progress.get("items_total"):
        parts.append(f"{progress.get('items_done') or 0}/{progress['items_total']}")
    return " · ".join(parts)


def _pretty(value: Any) -> str:
    return json.dumps(value, indent=2, ensure_ascii=False, default=str)
