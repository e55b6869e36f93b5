"""``ktrdr report OP_ID [--output FILE] [--open]``: save (and open) an operation's HTML report."""

from __future__ import annotations

import webbrowser
from pathlib import Path
from typing import Annotated

import typer

from ktrdr.cli.client import api_client
from ktrdr.cli.output import console
from ktrdr.reports.links import report_path


def report(
    ctx: typer.Context,
    operation_id: Annotated[str, typer.Argument(help="A backtest, training or research cycle.")],
    output: Annotated[
        Path | None,
        typer.Option("--output", "-o", help="Write the HTML here (default ./<OP_ID>.html)."),
    ] = None,
    open_browser: Annotated[
        bool, typer.Option("--open", help="Open the saved report in the default browser.")
    ] = False,
) -> None:
    """Save the self-contained HTML report of a finished operation (it opens offline)."""
    with api_client(ctx) as client:
        content = client.get_content(report_path(operation_id))
    target = output if output is not None else Path(f"{operation_id}.html")
    try:
        target.write_bytes(content)
    except OSError as exc:
        typer.echo(f"error: cannot write the report to {target}: {exc.strerror}", err=True)
        raise typer.Exit(1) from None
    console().print(f"report of {operation_id} saved to {target} ({len(content) / 1e6:.1f} MB)")
    if open_browser and not webbrowser.open(target.resolve().as_uri()):
        typer.echo(f"error: no browser could be opened; open {target} yourself", err=True)
        raise typer.Exit(1)
