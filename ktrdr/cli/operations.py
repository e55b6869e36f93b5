"""``ktrdr operations list|status|cancel``: look at and stop operations."""

from __future__ import annotations

from typing import Annotated
from urllib.parse import quote

import typer

from ktrdr.cli.client import api_client
from ktrdr.cli.output import console, operation_details, operations_table, print_json

app = typer.Typer(help="List, inspect and cancel operations.", no_args_is_help=True)

JsonOption = Annotated[bool, typer.Option("--json", help="Print the raw JSON answer.")]


@app.command("list")
def list_operations(
    ctx: typer.Context,
    operation_type: Annotated[
        str | None, typer.Option("--type", help="Only this type, e.g. training.")
    ] = None,
    status: Annotated[str | None, typer.Option(help="Only this status, e.g. running.")] = None,
    active: Annotated[bool, typer.Option("--active", help="Only pending or running.")] = False,
    limit: Annotated[int, typer.Option(help="At most this many rows (1-1000).")] = 50,
    as_json: JsonOption = False,
) -> None:
    """List operations, newest first."""
    params = {
        "operation_type": operation_type,
        "status": status,
        "active_only": active or None,
        "limit": limit,
    }
    with api_client(ctx) as client:
        payload = client.get("/operations", params)
    if as_json:
        print_json(payload)
        return
    operations = payload["data"]
    out = console()
    out.print(operations_table(operations))
    if payload["total_count"] > len(operations):
        out.print(f"showing {len(operations)} of {payload['total_count']}; raise --limit for more")


@app.command("status")
def operation_status(
    ctx: typer.Context,
    operation_id: Annotated[str, typer.Argument(help="The operation id.")],
    as_json: JsonOption = False,
) -> None:
    """Show one operation: status, progress, parent, error and result."""
    with api_client(ctx) as client:
        payload = client.get(_operation_path(operation_id))
    if as_json:
        print_json(payload)
        return
    console().print(operation_details(payload["data"]))


@app.command("cancel")
def cancel_operation(
    ctx: typer.Context,
    operation_id: Annotated[str, typer.Argument(help="The operation id.")],
    as_json: JsonOption = False,
) -> None:
    """Cancel an operation and its active children."""
    with api_client(ctx) as client:
        payload = client.delete(_operation_path(operation_id))
    if as_json:
        print_json(payload)
        return
    cancelled = payload["data"]["cancelled"]
    out = console()
    out.print(f"cancelled {len(cancelled)} operation(s):")
    for op_id in cancelled:
        out.print(f"  {op_id}")


def _operation_path(operation_id: str) -> str:
    return f"/operations/{quote(operation_id, safe='')}"
