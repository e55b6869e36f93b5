"""``ktrdr agent trigger|status|cancel|budget|history``: research cycles on the server."""

from __future__ import annotations

from typing import Annotated, Any

import typer
from rich.table import Table

from ktrdr.cli.backtest import format_metric
from ktrdr.cli.client import ApiClient, api_client
from ktrdr.cli.folds import fold_table
from ktrdr.cli.follow import OperationBoard, format_value, summary_table, wait_for_operation
from ktrdr.cli.output import console, print_json
from ktrdr.reports.links import report_path
from ktrdr.settings import AGENT_NAMES

app = typer.Typer(help="Research cycles: design, train, gate, backtest, gate, assess.")

_AGENT_CHOICES = " | ".join(AGENT_NAMES)  # the designers and assessors
OUTCOME_STYLE = {"completed": "green", "failed": "red", "cancelled": "yellow"}


def _gate_overrides(values: list[str] | None) -> dict[str, float] | None:
    if not values:
        return None
    overrides = {}
    for item in values:
        key, sep, raw = item.partition("=")
        try:
            overrides[key.strip()] = float(raw)
        except ValueError:
            sep = ""
        if not sep:
            typer.echo(
                f"error: --gate {item!r}: write NAME=NUMBER, e.g. backtest_min_trades=10", err=True
            )
            raise typer.Exit(1)
    return overrides


@app.command()
def trigger(
    ctx: typer.Context,
    follow: Annotated[
        bool, typer.Option("--follow", help="Show live progress to the end.")
    ] = False,
    designer: Annotated[str | None, typer.Option(help=_AGENT_CHOICES)] = None,
    assessor: Annotated[str | None, typer.Option(help=_AGENT_CHOICES)] = None,
    model: Annotated[str | None, typer.Option(help="LLM model or alias.")] = None,
    strategy: Annotated[
        str | None, typer.Option(help="Train this strategy instead of designing one.")
    ] = None,
    brief: Annotated[str | None, typer.Option(help="What to research, in words.")] = None,
    symbol: Annotated[
        str | None, typer.Option(help="Market to design for (stored data), e.g. BTC-USDT.")
    ] = None,
    timeframe: Annotated[str | None, typer.Option(help="Its timeframe, e.g. 1h.")] = None,
    gate: Annotated[
        list[str] | None,
        typer.Option(
            help="Gate override NAME=NUMBER, e.g. training_min_accuracy=0.45 (repeatable)."
        ),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the raw JSON answer.")] = False,
) -> None:
    """Start a research cycle (409 if one is running)."""
    body = {
        "designer": designer,
        "assessor": assessor,
        "model": model,
        "strategy": strategy,
        "brief": brief,
        "symbol": symbol,
        "timeframe": timeframe,
        "gates": _gate_overrides(gate),
    }
    with api_client(ctx) as client:
        started = client.post("/agent/trigger", {k: v for k, v in body.items() if v is not None})
        operation_id = started["operation_id"]
        if not follow:
            if as_json:
                print_json(started)
            else:
                console().print(f"research started: {operation_id}")
                console().print("follow it with `ktrdr agent status`")
            return
        research = _follow(client, operation_id, as_json)
    if as_json:
        print_json(research)
    else:
        render_outcome(research, report_url=client.url_of(report_path(operation_id)))
    if research["status"] == "cancelled":
        raise typer.Exit(1)


def _follow(client: ApiClient, operation_id: str, as_json: bool) -> dict[str, Any]:
    try:
        if as_json:
            return wait_for_operation(client, operation_id)
        with OperationBoard(console()) as board:
            return wait_for_operation(client, operation_id, on_update=board.update, with_child=True)
    except KeyboardInterrupt:
        typer.echo(
            f"detached from {operation_id}; it keeps running — `ktrdr agent status` shows it",
            err=True,
        )
        raise typer.Exit(130) from None


def render_outcome(research: dict[str, Any], *, report_url: str | None = None) -> None:
    """The cycle's outcome: strategy, gates, key metrics, verdict, where its files are, and
    (last) the URL of its report."""
    params = research["metadata"]["parameters"]
    status = research["status"]
    style = OUTCOME_STYLE.get(status, "white")
    out = console()
    out.print(f"[bold {style}]research {status}[/]: {research['operation_id']}")
    if research.get("error_message"):
        out.print(f"  {research['error_message']}")
    training = (params.get("training_result") or {}).get("test_metrics") or {}
    backtest = (params.get("backtest_result") or {}).get("metrics") or {}
    walk_forward = (params.get("training_result") or {}).get("walk_forward") or {}
    mean = " (fold mean)" if walk_forward.get("folds") else ""
    statistics = params.get("statistics") or {}
    rows = [
        ("Strategy", params.get("strategy_name") or "—"),
        ("Designer", params.get("designer") or "—"),
        ("Training gate", _gate(params.get("training_gate"))),
        ("Backtest gate", _gate(params.get("backtest_gate"))),
        (f"Test accuracy{mean}", format_value(training.get("test_accuracy"), "percent")),
        (f"Balanced accuracy{mean}", format_value(training.get("balanced_accuracy"), "percent")),
        (f"Test loss{mean}", format_value(training.get("test_loss"))),
        (f"Prior log-loss{mean}", format_value(training.get("prior_log_loss"))),
        ("Walk-forward OOS return", format_value(backtest.get("total_return"), "percent")),
        ("Annualised return", format_metric(backtest, "annualized_return", "percent")),
        ("Sharpe (annualised, bar returns)", format_metric(backtest, "sharpe_ratio", "ratio")),
        (
            "Sharpe (annualised, daily returns)",
            format_metric(backtest, "sharpe_ratio_daily", "ratio"),
        ),
        ("Max drawdown", format_value(backtest.get("max_drawdown"), "percent")),
        ("Win rate", format_value(backtest.get("win_rate"), "percent")),
        ("Trades", format_value(backtest.get("total_trades"), "int")),
        ("Buy & hold", format_value(backtest.get("buy_and_hold_return"), "percent")),
        ("Trials (data set)", format_value(statistics.get("n_trials"), "int")),
        (
            "PSR / DSR",
            f"{format_value(statistics.get('psr'), 'ratio')} / "
            f"{format_value(statistics.get('dsr'), 'ratio')}",
        ),
        ("PBO", format_value(statistics.get("pbo"), "ratio")),
        ("Verdict (research window)", _verdict(params)),
        ("Holdout", _holdout(params.get("holdout"))),
        ("Strategy file", params.get("strategy_path") or "—"),
        ("Model", params.get("model_path") or "—"),
        (
            "Trades file",
            ((params.get("backtest_result") or {}).get("artifacts") or {}).get("trades") or "—",
        ),
        ("Assessment", params.get("assessment_path") or "—"),
    ]
    out.print(summary_table("Research cycle", rows))
    folds = fold_table(params.get("training_result"), params.get("backtest_result") or {})
    if folds is not None:
        out.print(folds)
    if report_url:
        out.print(f"report: {report_url}  (or `ktrdr report {research['operation_id']} --open`)")


def _holdout(holdout: dict[str, Any] | None) -> str:
    """'not_confirmed (psr 0.61 < 0.90; Sharpe 0.30, 14 trades; look 1)' or why there is none."""
    if not holdout:
        return "not evaluated (only a promising model meets its holdout)"
    metrics = holdout.get("metrics") or {}
    return (
        f"{holdout.get('verdict')} ({holdout.get('reason')}; Sharpe "
        f"{format_metric(metrics, 'sharpe_ratio', 'ratio')}, "
        f"{format_value(metrics.get('total_trades'), 'int')} trades; "
        f"look {holdout.get('looks')})"
    )


def _verdict(params: dict[str, Any]) -> str:
    """'neutral (dsr 0.43 < 0.95 (37 trials))', noting when the assessor lowered it."""
    verdict = params.get("verdict")
    if not verdict:
        return "—"
    reason = f" ({params['verdict_reason']})" if params.get("verdict_reason") else ""
    lowered = params.get("deterministic_verdict") not in (None, verdict)
    return f"{verdict}{reason}" + (
        f"; lowered by the assessor from {params['deterministic_verdict']}" if lowered else ""
    )


def _gate(gate: dict[str, Any] | None) -> str:
    if not gate:
        return "—"
    return "passed" if gate.get("passed") else f"failed: {gate.get('reason')}"


@app.command()
def status(
    ctx: typer.Context,
    as_json: Annotated[bool, typer.Option("--json", help="Print the raw JSON answer.")] = False,
) -> None:
    """The active research cycle (phase, progress, children) and the last finished one."""
    with api_client(ctx) as client:
        payload = client.get("/agent/status")
    if as_json:
        print_json(payload)
        return
    out = console()
    if payload["status"] == "idle":
        out.print("no research cycle is running")
    for research in payload["active_researches"]:
        progress = research.get("progress") or {}
        out.print(
            f"[bold]{research['operation_id']}[/] phase [cyan]{research['phase']}[/] "
            f"{format_value(progress.get('percentage'), 'ratio')}% "
            f"{progress.get('current_step') or ''}"
        )
        for key in ("strategy_name", "child_operation_id", "training_op_id", "backtest_op_id"):
            if research.get(key):
                out.print(f"  {key}: {research[key]}")
        if research.get("statistics"):
            out.print(f"  statistics: {statistics_line(research['statistics'])}")
        if research.get("verdict"):  # judged: past both gates and the assessment
            out.print(
                f"  deterministic verdict: {research.get('deterministic_verdict')} "
                f"({research.get('verdict_reason')})"
            )
    last = payload.get("last_cycle")
    if last:
        detail = last.get("verdict") or last.get("error_message") or ""
        out.print(f"last cycle {last['operation_id']}: {last['status']} {detail}".rstrip())
        if last.get("verdict_reason"):
            out.print(f"  why: {last['verdict_reason']}")
        if last.get("statistics"):
            out.print(f"  statistics: {statistics_line(last['statistics'])}")
        if last.get("verdict"):
            out.print(f"  holdout: {_holdout(last.get('holdout'))}")
        if last["status"] in ("completed", "failed", "cancelled"):
            out.print(f"  report: {client.url_of(report_path(last['operation_id']))}")


def statistics_line(statistics: dict[str, Any]) -> str:
    """'37 trials, Sharpe 1.20 (95% CI -0.40..2.80), PSR 0.91, DSR 0.43, PBO 0.55'."""
    interval = statistics.get("bootstrap_ci")
    ci = (
        f" (95% CI {format_value(interval[0], 'ratio')}..{format_value(interval[1], 'ratio')})"
        if isinstance(interval, list) and len(interval) == 2
        else ""
    )
    return (
        f"{statistics.get('n_trials')} trials, Sharpe "
        f"{format_value(statistics.get('sharpe_annualized'), 'ratio')}{ci}, PSR "
        f"{format_value(statistics.get('psr'), 'ratio')}, DSR "
        f"{format_value(statistics.get('dsr'), 'ratio')}, PBO "
        f"{format_value(statistics.get('pbo'), 'ratio')}"
    )


@app.command()
def cancel(
    ctx: typer.Context,
    operation_id: Annotated[
        str | None, typer.Argument(help="Research id (default: active).")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the raw JSON answer.")] = False,
) -> None:
    """Cancel the (given) active research and its current child."""
    path = f"/agent/cancel/{operation_id}" if operation_id else "/agent/cancel"
    with api_client(ctx) as client:
        payload = client.delete(path)
    if as_json:
        print_json(payload)
        return
    console().print(f"cancelled {', '.join(payload['cancelled'])}")


@app.command()
def budget(
    ctx: typer.Context,
    as_json: Annotated[bool, typer.Option("--json", help="Print the raw JSON answer.")] = False,
) -> None:
    """The daily LLM budget: limit, spent today, remaining."""
    with api_client(ctx) as client:
        payload = client.get("/agent/budget")
    if as_json:
        print_json(payload)
        return
    keys = [k for k in payload if k != "success"]
    console().print(summary_table("Budget", [(k, format_value(payload[k])) for k in keys]))


@app.command()
def history(
    ctx: typer.Context,
    limit: Annotated[int, typer.Option(help="How many experiments.")] = 20,
    as_json: Annotated[bool, typer.Option("--json", help="Print the raw JSON answer.")] = False,
) -> None:
    """Past experiments, newest first: strategy, outcome, protocol, key metrics, verdict."""
    with api_client(ctx) as client:
        payload = client.get("/agent/history", {"limit": limit})
    if as_json:
        print_json(payload)
        return
    table = Table(title="Experiments (newest first)")
    for column in HISTORY_COLUMNS.values():
        table.add_column(column)
    for row in payload["experiments"]:
        gates = "; ".join(f"{g}: {r}" for g, r in (row.get("gates") or {}).items()) or "—"
        cells = {**row, "gates": gates, "created_at": row["created_at"][:19]}
        table.add_row(*(_cell(cells.get(key), key) for key in HISTORY_COLUMNS))
    console().print(table)


HISTORY_COLUMNS = {
    "created_at": "when (UTC)",
    "strategy_name": "strategy",
    "status": "outcome",
    "protocol": "protocol",
    "test_accuracy": "accuracy",
    "sharpe_ratio": "sharpe",
    "total_trades": "trades",
    "n_trials": "trials",
    "dsr": "dsr",
    "pbo": "pbo",
    "gates": "gates",
    "verdict": "verdict",
}


def _cell(value: Any, key: str) -> str:
    kind = {
        "test_accuracy": "percent",
        "sharpe_ratio": "ratio",
        "total_trades": "int",
        "n_trials": "int",
        "dsr": "ratio",
        "pbo": "ratio",
    }
    return format_value(value, kind.get(key, "number"))
