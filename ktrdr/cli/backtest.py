"""``ktrdr backtest MODEL_PATH|STRATEGY [--follow]``: backtest a trained model on the server."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated, Any

import typer

from ktrdr.cli.follow import Operation, format_value, start_job, summary_table
from ktrdr.cli.output import console, format_day

# (result key, label, format) in the order people read them.
METRIC_ROWS = (
    ("total_return", "total return (period)", "percent"),
    ("annualized_return", "annualised return", "percent"),
    ("sharpe_ratio", "sharpe ratio (annualised, bar returns)", "ratio"),
    ("sharpe_ratio_daily", "sharpe ratio (annualised, daily returns)", "ratio"),
    ("sortino_ratio", "sortino ratio", "ratio"),
    ("max_drawdown", "max drawdown", "percent"),
    ("win_rate", "win rate", "percent"),
    ("profit_factor", "profit factor", "ratio"),
    ("total_trades", "trades", "int"),
    ("avg_trade_return", "avg trade return", "percent"),
    ("exposure", "exposure", "percent"),
    ("buy_and_hold_return", "buy & hold return", "percent"),
)
ANNUALIZED_METRICS = frozenset(
    {"annualized_return", "sharpe_ratio", "sharpe_ratio_daily", "sortino_ratio"}
)


def format_metric(metrics: Mapping[str, Any], key: str, kind: str) -> str:
    """A backtest metric for people; an annualised one from under a year says how many days.

    ``annualized_return`` 0.428 over 37 days -> ``'42.80% (from 37 days)'``.
    """
    value = metrics.get(key)
    text = format_value(value, kind)
    days = metrics.get("annualized_from_days")
    short = metrics.get("annualization_reliable") is False and isinstance(days, int | float)
    if key in ANNUALIZED_METRICS and value is not None and short:
        text += f" (from {days:.0f} days)"
    return text


def metric_rows(metrics: Mapping[str, Any]) -> list[tuple[str, str]]:
    """(label, text) for every METRIC_ROWS entry, annualised figures marked as above."""
    return [(label, format_metric(metrics, key, kind)) for key, label, kind in METRIC_ROWS]


ModelArgument = Annotated[
    str,
    typer.Argument(
        metavar="MODEL_PATH|STRATEGY",
        help="A model bundle folder, or a strategy name (its newest trained model).",
    ),
]


def backtest(
    ctx: typer.Context,
    model: ModelArgument,
    symbol: Annotated[
        str | None, typer.Option("--symbol", help="Symbol to trade (default: the model's first).")
    ] = None,
    start: Annotated[
        str | None, typer.Option("--start", help="First day of a range (2017-11-01).")
    ] = None,
    end: Annotated[str | None, typer.Option("--end", help="Last day, e.g. 2017-12-01.")] = None,
    allow_in_sample: Annotated[
        bool,
        typer.Option(
            "--allow-in-sample",
            help="Run a range the model trained on (or over its training period); "
            "the result is marked in_sample and is no evidence.",
        ),
    ] = False,
    follow: Annotated[
        bool, typer.Option("--follow", help="Show live progress, then the metrics.")
    ] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print the raw JSON answer.")] = False,
) -> None:
    """Walk-forward backtest of MODEL's folds; with --start/--end, a range before the holdout."""
    body = {
        "model_path": model,
        "symbol": symbol,
        "start_date": start,
        "end_date": end,
        "allow_in_sample": allow_in_sample or None,
    }
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
    in_sample = " (IN-SAMPLE: no evidence)" if result.get("in_sample") else ""
    rows = [
        ("operation", operation["operation_id"]),
        ("market", symbol or "—"),
        ("mode", f"{result.get('mode', 'range')}{in_sample}"),
        (
            "range",
            f"{format_day(result.get('start_date'))} .. {format_day(result.get('end_date'))}",
        ),
        ("bars", format_value(result.get("bars"), "int")),
        *metric_rows(metrics),
    ]
    if result.get("seed_sharpes"):
        sharpes = ", ".join(format_value(value, "ratio") for value in result["seed_sharpes"])
        rows.append(("seed sharpes", sharpes))
    out = console()
    out.print(summary_table("backtest completed", rows))
    for fold in result.get("folds") or []:
        fold_metrics = fold.get("metrics") or {}
        out.print(
            f"fold {fold['fold']}: "
            f"{format_day(fold.get('start_date'))} .. {format_day(fold.get('end_date'))}"
            f"  sharpe {format_metric(fold_metrics, 'sharpe_ratio', 'ratio')}"
            f"  return {format_value(fold_metrics.get('total_return'), 'percent')}"
            f"  trades {format_value(fold_metrics.get('total_trades'), 'int')}"
        )
    for kind, path in (result.get("artifacts") or {}).items():
        out.print(f"{kind}: {path}")
