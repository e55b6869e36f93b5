"""``ktrdr data list|import|fetch|update|check|windows``: the server's market data and windows."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated
from urllib.parse import quote

import typer
from rich import box
from rich.table import Table

from ktrdr.cli.client import ApiClient, api_client
from ktrdr.cli.follow import Operation, follow_operation, wait_until_completed
from ktrdr.cli.output import console, format_time, print_json

app = typer.Typer(help="List, import, fetch and check market data.", no_args_is_help=True)

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
            _source_label(info),
        )
    return table


def _source_label(info: dict[str, object]) -> str:
    provenance = info.get("provenance")
    if isinstance(provenance, dict):
        return f"{provenance['source']} {provenance['symbol']}"
    return str(info["source"])


FollowOption = Annotated[
    bool, typer.Option("--follow", "-f", help="Show live progress while it runs.")
]


@app.command("fetch")
def fetch_data(
    ctx: typer.Context,
    symbol: Annotated[str, typer.Argument(help="The source's symbol, e.g. BTC/USDT or AAPL.")],
    source: Annotated[
        str, typer.Option("--source", help="ccxt:<exchange> (e.g. ccxt:binance) or yfinance.")
    ],
    timeframe: Annotated[str, typer.Option("--timeframe", help="Bar timeframe, e.g. 1h.")],
    start: Annotated[
        str | None, typer.Option("--start", help="First day (needed for a new data set).")
    ] = None,
    end: Annotated[str | None, typer.Option("--end", help="Last day; default: now.")] = None,
    name: Annotated[
        str | None, typer.Option("--as", help="Store as this symbol (default: / -> -).")
    ] = None,
    base_url: Annotated[
        str | None, typer.Option("--base-url", help="Replace the source's scheme and host.")
    ] = None,
    follow: FollowOption = False,
    as_json: JsonOption = False,
) -> None:
    """Fetch bars from an exchange or data vendor; only what is not stored yet is requested."""
    body = {
        "symbol": symbol,
        "source": source,
        "timeframe": timeframe,
        "start": start,
        "end": end,
        "name": name,
        "base_url": base_url,
    }
    with api_client(ctx) as client:
        payload = client.post("/data/fetch", {k: v for k, v in body.items() if v is not None})
        _await_fetch(client, payload["operation_id"], follow=follow, as_json=as_json)


@app.command("update")
def update_data(
    ctx: typer.Context,
    symbol: Annotated[str | None, typer.Argument(help="Only this stored symbol.")] = None,
    follow: FollowOption = False,
    as_json: JsonOption = False,
) -> None:
    """Bring every fetched data set (or SYMBOL's) up to now."""
    with api_client(ctx) as client:
        payload = client.post("/data/update", {"symbol": symbol} if symbol else {})
        for operation_id in payload["data"]["operation_ids"]:
            _await_fetch(client, operation_id, follow=follow, as_json=as_json)


@app.command("check")
def check_data(
    ctx: typer.Context,
    symbol: Annotated[str, typer.Argument(help="A stored symbol, e.g. BTC-USDT.")],
    timeframe: Annotated[str, typer.Argument(help="Its timeframe, e.g. 1h.")],
    calendar: Annotated[
        str | None,
        typer.Option(
            "--calendar", help="crypto, fx or an exchange code (XNYS); default: source's."
        ),
    ] = None,
    as_json: JsonOption = False,
) -> None:
    """Report missing bars against the trading calendar and zero-volume runs; nothing is filled."""
    params = {"symbol": symbol, "timeframe": timeframe}
    if calendar:
        params["calendar"] = calendar
    with api_client(ctx) as client:
        payload = client.get("/data/check", params=params)
    if as_json:
        print_json(payload)
        return
    report = payload["data"]
    out = console()
    out.print(
        f"{report['symbol']} {report['timeframe']} ({report['calendar']} calendar): "
        f"{report['bars']:,} bars of {report['expected']:,} expected, "
        f"{report['missing']:,} missing, {report['zero_volume_bars']:,} with zero volume, "
        f"{report['off_calendar']:,} off the calendar, "
        f"{report['duplicates_fixed']:,} duplicates fixed on merge"
    )
    for gap in report["missing_ranges"]:
        out.print(f"  missing {gap['bars']:,} bars: {gap['first']} .. {gap['last']}")
    for run in report["zero_volume_runs"]:
        out.print(f"  zero volume, {run['bars']:,} bars: {run['first']} .. {run['last']}")


def _await_fetch(client: ApiClient, operation_id: str, *, follow: bool, as_json: bool) -> None:
    """Wait for the fetch (live bars with ``follow``); its summary, or its error and exit 1."""
    if follow or as_json:
        follow_operation(client, operation_id, render_summary=_fetch_summary, as_json=as_json)
        return
    _fetch_summary(wait_until_completed(client, operation_id, "fetch"))


def _fetch_summary(operation: Operation) -> None:
    result = operation.get("result_summary") or {}
    console().print(
        f"{result.get('symbol')} {result.get('timeframe')}: {result.get('bars_added', 0):,} bars "
        f"added from {result.get('source')}, {result.get('bars', 0):,} stored "
        f"({format_time(result.get('first'))} .. {format_time(result.get('last'))})"
    )


windows_app = typer.Typer(
    help="The research window and sealed holdout of each data set.",
    invoke_without_command=True,
)
app.add_typer(windows_app, name="windows")
WINDOW_COLUMNS = (
    "symbol",
    "timeframe",
    "research_start",
    "research_end",
    "holdout_start",
    "holdout_end",
    "frozen_at",
    "holdout_looks",
    "n_trials",
    "trials_sharpe_variance",
    "pbo",
)
NUMERIC_WINDOW_COLUMNS = ("holdout_looks", "n_trials", "trials_sharpe_variance", "pbo")


@windows_app.callback()
def list_windows(ctx: typer.Context, as_json: JsonOption = False) -> None:
    """List every data set's research window, sealed holdout, holdout looks and trials (N, the
    variance V of their per-bar Sharpe ratios, PBO once there are 8)."""
    if ctx.invoked_subcommand is not None:
        return
    with api_client(ctx) as client:
        payload = client.get("/data/windows")
    if as_json:
        print_json(payload)
        return
    console().print(windows_table(payload["data"]))


@windows_app.command("reset")
def reset_window(
    ctx: typer.Context,
    symbol: Annotated[str, typer.Argument(help="A stored symbol, e.g. EURUSD.")],
    timeframe: Annotated[str, typer.Argument(help="Its timeframe, e.g. 1h.")],
    holdout_start: Annotated[
        str, typer.Option("--holdout-start", help="The holdout's new first day, e.g. 2017-12-01.")
    ],
    as_json: JsonOption = False,
) -> None:
    """Move a data set's holdout start (logged; its look count starts afresh)."""
    path = f"/data/windows/{quote(symbol, safe='')}/{quote(timeframe, safe='')}/reset"
    with api_client(ctx) as client:
        payload = client.post(path, {"holdout_start": holdout_start})
    if as_json:
        print_json(payload)
        return
    window = payload["data"]
    console().print(
        f"{window['symbol']} {window['timeframe']}: holdout now starts "
        f"{format_time(window['holdout_start'])} (research {format_time(window['research_start'])}"
        f" .. {format_time(window['research_end'])}); holdout looks reset to 0"
    )


def windows_table(windows: list[dict[str, object]]) -> Table:
    """A table of data windows, one row per data set."""
    table = Table(box=box.SIMPLE_HEAD)
    for column in WINDOW_COLUMNS:
        justify = "right" if column in NUMERIC_WINDOW_COLUMNS else "left"
        table.add_column(column, justify=justify)
    for window in windows:
        table.add_row(*(_window_cell(window, column) for column in WINDOW_COLUMNS))
    return table


def _window_cell(window: dict[str, object], column: str) -> str:
    value = window.get(column)
    if column in ("symbol", "timeframe", "holdout_looks", "n_trials"):
        return str(value)
    if column == "trials_sharpe_variance":
        return "—" if value is None else f"{value:.3g}"
    if column == "pbo":
        return "—" if value is None else f"{value:.2f}"
    return format_time(str(value) if value else None)
