"""``ktrdr data list|import``: the server's market data, and adding a CSV or Parquet file."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich import box
from rich.table import Table

from ktrdr.cli.client import api_client
from ktrdr.cli.output import console, format_time, print_json

app = typer.Typer(help="List and import market data.", no_args_is_help=True)

JsonOption = Annotated[bool, typer.Option("--json", help="Print the raw JSON answer.")]
DATA_COLUMNS = ("symbol", "timeframe", "bars", "first", "last", "source")


@app.command("list")
def list_data(ctx: typer.Context, as_json: JsonOption = False) -> None:
    """List every stored data set with its bar count and date range."""
    with api_client(ctx) as client:
        payload = client.get("/data")
    if as_json:
        print_json(payload)
        return
    console().print(datasets_table(payload["data"]))


@app.command("import")
def import_data(
    ctx: typer.Context,
    file: Annotated[Path, typer.Argument(help="A CSV or Parquet file of OHLCV bars.")],
    symbol: Annotated[str, typer.Option("--symbol", help="Store the bars as this symbol.")],
    timeframe: Annotated[str, typer.Option("--timeframe", help="The bars' timeframe, e.g. 1h.")],
    as_json: JsonOption = False,
) -> None:
    """Send a local file to the server, which checks every row and stores it."""
    if not file.is_file():
        typer.echo(f"error: {file}: no such file", err=True)
        raise typer.Exit(1)
    params = {"symbol": symbol, "timeframe": timeframe, "filename": file.name}
    with api_client(ctx) as client:
        payload = client.post_content("/data/import", file.read_bytes(), params=params)
    if as_json:
        print_json(payload)
        return
    info = payload["data"]
    console().print(
        f"imported {info['bars']} {info['symbol']} {info['timeframe']} bars "
        f"({format_time(info['first'])} .. {format_time(info['last'])}) from {file.name}"
    )


def datasets_table(datasets: list[dict[str, object]]) -> Table:
    """A table of data sets: symbol, timeframe, bars, first, last, source."""
    table = Table(box=box.SIMPLE_HEAD)
    for column in DATA_COLUMNS:
        table.add_column(column, justify="right" if column == "bars" else "left", no_wrap=True)
    for info in datasets:
        table.add_row(
            str(info["symbol"]),
            str(info["timeframe"]),
            f"{info['bars']:,}",
            format_time(str(info["first"])),
            format_time(str(info["last"])),
            str(info["source"]),
        )
    return table
