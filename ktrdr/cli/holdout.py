"""``ktrdr holdout evaluate MODEL`` and ``ktrdr holdout list``: counted looks at the holdout."""

from __future__ import annotations

from typing import Annotated, Any

import typer
from rich import box
from rich.table import Table

from ktrdr.cli.backtest import ModelArgument, format_metric, metric_rows
from ktrdr.cli.client import ApiClient, api_client
from ktrdr.cli.follow import format_value, summary_table, wait_until_completed
from ktrdr.cli.output import console, format_day, print_json

app = typer.Typer(help="Evaluate final models on the sealed holdout, once each.")

JsonOption = Annotated[bool, typer.Option("--json", help="Print the raw JSON answer.")]


@app.command("evaluate")
def evaluate(
    ctx: typer.Context,
    model: ModelArgument,
    as_json: JsonOption = False,
) -> None:
    """Backtest MODEL on its data set's holdout (one counted look); again: the stored result."""
    with api_client(ctx) as client:
        evaluation = client.post("/holdout/evaluate", {"model": model})["data"]
        if evaluation["result"] is None:
            evaluation = _wait(client, evaluation)
    if as_json:
        print_json(evaluation)
        return
    render_evaluation(evaluation)


@app.command("list")
def list_evaluations(ctx: typer.Context, as_json: JsonOption = False) -> None:
    """List every holdout evaluation with its look number and verdict."""
    with api_client(ctx) as client:
        payload = client.get("/holdout/evaluations")
    if as_json:
        print_json(payload)
        return
    table = Table(box=box.SIMPLE_HEAD)
    for column in ("model", "market", "look", "status", "verdict", "sharpe", "trades"):
        table.add_column(column)
    for row in payload["data"]:
        result = row["result"] or {}
        metrics = result.get("metrics") or {}
        table.add_row(
            row["model_path"],
            f"{row['symbol']} {row['timeframe']}",
            str(row["look"]),
            row["status"],
            result.get("verdict", "—"),
            format_metric(metrics, "sharpe_ratio", "ratio"),
            format_value(metrics.get("total_trades"), "int"),
        )
    console().print(table)


def _wait(client: ApiClient, evaluation: dict[str, Any]) -> dict[str, Any]:
    """Wait for the holdout backtest; the stored evaluation, or its error and exit 1."""
    wait_until_completed(client, evaluation["operation_id"], "holdout backtest")
    for row in client.get("/holdout/evaluations")["data"]:
        if row["model_path"] == evaluation["model_path"]:
            return row
    typer.echo(f"error: holdout evaluation of {evaluation['model_path']} vanished", err=True)
    raise typer.Exit(1)


def render_evaluation(evaluation: dict[str, Any]) -> None:
    """The verdict, its reason, the look count and the holdout metrics."""
    result = evaluation["result"] or {}
    metrics = result.get("metrics") or {}
    rows = [
        ("model", evaluation["model_path"]),
        ("market", f"{evaluation['symbol']} {evaluation['timeframe']}"),
        (
            "holdout",
            f"{format_day(result.get('start_date'))} .. {format_day(result.get('end_date'))}",
        ),
        (
            "look",
            f"number {evaluation['look']} at this holdout (`ktrdr data windows`: the count now)",
        ),
        ("verdict", str(result.get("verdict"))),
        ("reason", str(result.get("reason"))),
        ("psr(0)", format_value(result.get("psr"), "ratio")),
        ("bars", format_value(result.get("bars"), "int")),
        *metric_rows(metrics),
    ]
    console().print(summary_table("holdout evaluation", rows))
