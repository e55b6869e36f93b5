"""``ktrdr train STRATEGY [--follow]``: train a strategy's model on the server."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from ktrdr.cli.folds import fold_table
from ktrdr.cli.follow import Operation, format_value, start_job, summary_table
from ktrdr.cli.output import console, format_duration
from ktrdr.errors import KtrdrError
from ktrdr.strategy import load_strategy, strategy_to_dict

STRATEGY_SUFFIXES = (".yaml", ".yml")


def train(
    ctx: typer.Context,
    strategy: Annotated[
        str,
        typer.Argument(help="A local strategy .yaml file, or the name of one the server knows."),
    ],
    symbol: Annotated[
        list[str] | None, typer.Option("--symbol", help="Train on this symbol (repeatable).")
    ] = None,
    timeframe: Annotated[
        list[str] | None,
        typer.Option("--timeframe", help="Use this timeframe (repeatable; first is the base)."),
    ] = None,
    start: Annotated[str | None, typer.Option("--start", help="First day (2017-05-01).")] = None,
    end: Annotated[str | None, typer.Option("--end", help="Last day, e.g. 2017-12-31.")] = None,
    seed: Annotated[int | None, typer.Option(help="Random seed of the training.")] = None,
    follow: Annotated[
        bool, typer.Option("--follow", help="Show live progress until the training ends.")
    ] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print the raw JSON answer.")] = False,
) -> None:
    """Train a strategy's model; a local file is validated here first, then sent."""
    body = {
        "strategy": strategy_reference(strategy),
        "symbols": symbol or None,
        "timeframes": timeframe or None,
        "start_date": start,
        "end_date": end,
        "seed": seed,
    }
    start_job(
        ctx,
        "/training/start",
        body,
        noun="training",
        follow=follow,
        as_json=as_json,
        render_summary=render_training_summary,
    )


def strategy_reference(strategy: str) -> str | dict[str, Any]:
    """A local .yaml file as its validated object; anything else is a name for the server."""
    path = Path(strategy)
    if path.suffix not in STRATEGY_SUFFIXES and not path.is_file():
        return strategy
    try:
        return strategy_to_dict(load_strategy(path))
    except KtrdrError as exc:
        typer.echo(f"error: {exc.message}", err=True)
        raise typer.Exit(1) from None


def render_training_summary(operation: Operation) -> None:
    """The test metrics, epochs, samples and model path of a completed training."""
    result = operation.get("result_summary") or {}
    test = result.get("test_metrics") or {}
    training = result.get("training_metrics") or {}
    samples = result.get("n_samples") or {}
    mean = " (fold mean)" if (result.get("walk_forward") or {}).get("folds") else ""
    strategy_name = ((operation.get("metadata") or {}).get("parameters") or {}).get("strategy_name")
    rows = [
        ("operation", operation["operation_id"]),
        ("strategy", strategy_name or "—"),
        (f"accuracy{mean}", format_value(test.get("test_accuracy"), "percent")),
        (f"loss{mean}", format_value(test.get("test_loss"))),
        ("precision", format_value(test.get("precision"))),
        ("recall", format_value(test.get("recall"))),
        ("f1", format_value(test.get("f1"))),
        ("epochs", format_value(training.get("epochs_run"), "int")),
        ("best epoch", format_value(training.get("best_epoch"), "int")),
        ("samples", " · ".join(f"{k} {v}" for k, v in samples.items()) or "—"),
        ("duration", format_duration(result.get("duration_seconds"))),
        ("model path", result.get("model_path") or "—"),
    ]
    out = console()
    out.print(summary_table("training completed", rows))
    folds = fold_table(result)
    if folds is not None:
        out.print(folds)
