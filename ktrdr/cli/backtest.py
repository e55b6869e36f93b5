"""``ktrdr backtest MODEL_PATH|STRATEGY [--follow]``: backtest a trained model on the server."""

from __future__ import annotations

from typing import Annotated

import typer

from ktrdr.cli.follow import Operation, format_value, start_job, summary_table
from ktrdr.cli.output import console

# (result key, label, format) in the order people read them.
METRIC_ROWS = (
    ("total_return", "total return", "percent"),
    ("annualized_return", "annualised return", "percent"),
    ("sharpe_ratio", "sharpe ratio", "ratio"),
    ("sortino_ratio", "sortino ratio", "ratio"),
    ("max_drawdown", "max drawdown", "percent"),
    ("win_rate", "win rate", "percent"),
    ("profit_factor", "profit factor", "ratio"),
    ("total_trades", "trades", "int"),
    ("avg_trade_return", "avg trade return", "percent"),
    ("exposure", "exposure", "percent"),
    ("buy_and_hold_return", "buy & hold return", "percent"),
)


def backtest(
    ctx: typer.Context,
    model: Annotated[
        str,
        typer.Argument(
            metavar="MODEL_PATH|STRATEGY",
            help="A model bundle folder, or a strategy name (its newest trained model).",
        ),
    ],
    symbol: Annotated[
        str | None, typer.Option("--symbol", help="Symbol to trade (default: the model's first).")
    ] = None,
    start: Annotated[str | None, typer.Option("--start", help="First day (2018-01-02).")] = None,
    end: Annotated[str | None, typer.Option("--end", help="Last day, e.g. 2018-02-07.")] = None,
    follow: Annotated[
        bool, typer.Option("--follow", help="Show live progress, then the metrics.")
    ] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print the raw JSON answer.")] = False,
) -> None:
    """Backtest a trained model on bars outside its training range."""
    body = {"model_path": model, "symbol": symbol, "start_date": start, "end_date": end}
    start_job(
        ctx,
        "/backtests/start",
        body,
        noun="backtest",
        follow=follow,
        as_json=as_json,
        render_summary=render_backtest_summary,
    )


def render_backtest_summary(operation: Operation) -> None:
    """The metrics table of a completed backtest, then where its trades and equity are."""
    result = operation.get("result_summary") or {}
    metrics = result.get("metrics") or {}
    metadata = operation.get("metadata") or {}
    symbol = " ".join(filter(None, (metadata.get("symbol"), metadata.get("timeframe"))))
    rows = [
        ("operation", operation["operation_id"]),
        ("market", symbol or "—"),
        ("range", f"{_day(result.get('start_date'))} .. {_day(result.get('end_date'))}"),
        ("bars", format_value(result.get("bars"), "int")),
        *((label, format_value(metrics.get(key), kind)) for key, label, kind in METRIC_ROWS),
    ]
    out = console()
    out.print(summary_table("backtest completed", rows))
    for kind, path in (result.get("artifacts") or {}).items():
        out.print(f"{kind}: {path}")


def _day(timestamp: str | None) -> str:
    return timestamp[:10] if timestamp else "—"
