"""``ktrdr strategies list|show|validate``: browse the server's strategies, check files locally."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any
from urllib.parse import quote

import typer
from rich import box
from rich.syntax import Syntax
from rich.table import Table
from rich.text import Text

from ktrdr.cli.client import api_client
from ktrdr.cli.output import console, print_json
from ktrdr.errors import KtrdrError, StrategyValidationError
from ktrdr.strategy import load_strategy

app = typer.Typer(help="List, show and validate strategies.", no_args_is_help=True)

JsonOption = Annotated[bool, typer.Option("--json", help="Print the raw JSON answer.")]


@app.command("list")
def list_strategies(ctx: typer.Context, as_json: JsonOption = False) -> None:
    """List the strategies the server knows, with their symbols and timeframes."""
    with api_client(ctx) as client:
        payload = client.get("/strategies")
    if as_json:
        print_json(payload)
        return
    console().print(strategies_table(payload["data"]))


@app.command("show")
def show_strategy(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="The strategy name, e.g. eurusd_rsi_macd_mlp.")],
    as_json: JsonOption = False,
) -> None:
    """Print one strategy's YAML and where it is stored."""
    with api_client(ctx) as client:
        payload = client.get(f"/strategies/{quote(name, safe='')}")
    if as_json:
        print_json(payload)
        return
    strategy = payload["data"]
    out = console()
    out.print(f"[bold]{strategy['name']}[/bold]  {strategy['path']}")
    out.print(Syntax(strategy["yaml"], "yaml", theme="ansi_dark", background_color="default"))


@app.command("validate")
def validate_files(
    files: Annotated[list[Path], typer.Argument(help="Strategy YAML files to check.")],
    as_json: JsonOption = False,
) -> None:
    """Check strategy files here, with the server's validator; exit 1 if any is invalid."""
    results = [validate_file(path) for path in files]
    if as_json:
        print_json(results)
    else:
        out = console()
        for result in results:
            if result["valid"]:
                out.print(f"ok {result['file']}", highlight=False)
                continue
            out.print(Text.assemble(("invalid", "red"), f" {result['file']}"))
            for issue in result["issues"]:
                where = f"{issue['path']}: " if issue["path"] else ""
                out.print(f"  {where}{issue['message']}", highlight=False, markup=False)
    if not all(result["valid"] for result in results):
        raise typer.Exit(1)


def validate_file(path: Path) -> dict[str, Any]:
    """``{file, valid, name, issues}`` for one file; a missing or unreadable file is invalid."""
    try:
        config = load_strategy(path)
    except StrategyValidationError as exc:
        return {"file": str(path), "valid": False, "name": None, "issues": exc.issues}
    except KtrdrError as exc:
        issues = [{"path": "", "message": exc.message}]
        return {"file": str(path), "valid": False, "name": None, "issues": issues}
    return {"file": str(path), "valid": True, "name": config.name, "issues": []}


def strategies_table(strategies: list[dict[str, Any]]) -> Table:
    """A table of strategies: name, symbols, timeframes, indicators, valid or why not."""
    table = Table(box=box.SIMPLE_HEAD)
    for column in ("name", "symbols", "timeframes", "indicators", "valid"):
        table.add_column(column, overflow="fold")
    for strategy in strategies:
        valid = "yes" if strategy["valid"] else f"no: {strategy.get('error', '')}"
        table.add_row(
            strategy["name"],
            ",".join(strategy["symbols"]),
            ",".join(strategy["timeframes"]),
            str(strategy["indicator_count"]),
            valid,
        )
    return table
