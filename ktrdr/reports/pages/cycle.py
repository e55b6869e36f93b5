"""The research-cycle page: design → gates → walk-forward → statistics → holdout → assessment."""

from __future__ import annotations

import html
from collections.abc import Mapping
from typing import Any

import pandas as pd

from ktrdr.reports.figures.backtest import equity_drawdown_figure
from ktrdr.reports.formatting import day, decimal, percent, whole
from ktrdr.reports.html import Page, badge, cards, note, table
from ktrdr.reports.links import sibling_report_link
from ktrdr.reports.pages.backtest import (
    backtest_metric_cards,
    equity_figure,
    folds_table,
    symbols_table,
)
from ktrdr.reports.pages.training import learning_curves, training_metric_cards

VERDICT_TONES = {
    "promising": "good",
    "confirmed": "good",
    "neutral": "meh",
    "inconclusive": "meh",
    "poor": "bad",
    "not_confirmed": "bad",
}
CHILD_KEYS = (
    ("design", "design_op_id"),
    ("training", "training_op_id"),
    ("walk-forward backtest", "backtest_op_id"),
    ("assessment", "assessment_op_id"),
    ("holdout backtest", "holdout_op_id"),
)
REPORTED_CHILDREN = frozenset({"training_op_id", "backtest_op_id", "holdout_op_id"})


def _verdict_badge(verdict: str | None) -> str:
    return badge(
        (verdict or "no verdict").replace("_", " "), VERDICT_TONES.get(verdict or "", "none")
    )


def _step(name: str, text: str, tone: str) -> str:
    return f'<li class="{tone}"><b>{html.escape(name)}</b>{html.escape(text)}</li>'


def _gate_tone(gate: Mapping[str, Any]) -> str:
    return {True: "good", False: "bad"}.get(gate.get("passed"), "")


def _verdict_tone(verdict: str | None) -> str:
    return VERDICT_TONES.get(verdict or "", "")


def _timeline(operation: Mapping[str, Any], parameters: Mapping[str, Any]) -> str:
    training_gate = parameters.get("training_gate") or {}
    backtest_gate = parameters.get("backtest_gate") or {}
    holdout = parameters.get("holdout") or {}
    steps = [
        _step("design", parameters.get("strategy_name") or "not designed",
              "good" if parameters.get("strategy_name") else ""),
        _step("training gate", training_gate.get("reason", "not reached"),
              _gate_tone(training_gate)),
        _step("backtest gate", backtest_gate.get("reason", "not reached"),
              _gate_tone(backtest_gate)),
        _step("statistics", parameters.get("verdict_reason") or "not computed",
              _verdict_tone(parameters.get("deterministic_verdict"))),
        _step("assessment", parameters.get("verdict") or "not reached",
              _verdict_tone(parameters.get("verdict"))),
        _step("holdout", holdout.get("verdict") or "not looked at",
              _verdict_tone(holdout.get("verdict"))),
    ]  # fmt: skip
    return f'<ol class="timeline">{"".join(steps)}</ol>'


def _outcome(operation: Mapping[str, Any], parameters: Mapping[str, Any]) -> list[str]:
    parts = [
        f"<p>Verdict {_verdict_badge(parameters.get('verdict'))} "
        f"&nbsp; status <b>{html.escape(str(operation.get('status')))}</b></p>"
    ]
    if parameters.get("verdict_reason"):
        parts.append(note(f"Statistics: {parameters['verdict_reason']}"))
    if operation.get("error_message"):
        parts.append(note(f"Ended with: {operation['error_message']}"))
    parts.append(_timeline(operation, parameters))
    return parts


def _design(parameters: Mapping[str, Any]) -> str:
    tokens = parameters.get("tokens") or {}
    return cards(
        [
            ("strategy", str(parameters.get("strategy_name") or "—")),
            ("designer", str(parameters.get("designer") or "—"), parameters.get("llm_model") or ""),
            ("assessor", str(parameters.get("assessor") or "—")),
            ("LLM tokens", whole((tokens.get("input") or 0) + (tokens.get("output") or 0))),
            ("LLM cost", f"${float(parameters.get('cost_usd') or 0.0):.4f}"),
        ]
    )


def _gates(parameters: Mapping[str, Any]) -> str:
    rows = []
    for name in ("training", "backtest"):
        gate = parameters.get(f"{name}_gate")
        if gate:
            rows.append((name, "passed" if gate["passed"] else "failed", gate["reason"]))
        else:
            rows.append((name, "not reached", "—"))
    return table(("gate", "outcome", "reason"), rows)


def _statistics(statistics: Mapping[str, Any]) -> str:
    interval = statistics.get("bootstrap_ci")
    ci = f"{decimal(interval[0])} to {decimal(interval[1])}" if interval else "—"
    bars, needed = statistics.get("bars"), statistics.get("min_track_record_bars")
    return cards(
        [
            ("trials", whole(statistics.get("n_trials")), "walk-forward evaluations on this data"),
            ("Sharpe ratio", decimal(statistics.get("sharpe_annualized")), "annualised, stitched"),
            ("PSR", percent(statistics.get("psr"), 1), "P(Sharpe > 0)"),
            ("DSR", percent(statistics.get("dsr"), 1), "PSR against the best of N trials"),
            ("95% bootstrap CI", ci, "annualised Sharpe"),
            ("track record", f"{whole(bars)} bars", f"needed: {whole(needed)}"),
            ("PBO", percent(statistics.get("pbo"), 1), "probability of backtest overfitting"),
        ]
    )


def _holdout(
    holdout: Mapping[str, Any], artifacts: Mapping[str, pd.DataFrame], page: Page
) -> list[str]:
    parts = [
        f"<p>Holdout {_verdict_badge(holdout.get('verdict'))} &nbsp; "
        f"{html.escape(day(holdout.get('start_date')))} to "
        f"{html.escape(day(holdout.get('end_date')))} · look {whole(holdout.get('looks'))}</p>"
    ]
    if holdout.get("reason"):
        parts.append(note(str(holdout["reason"])))
    parts.append(backtest_metric_cards(holdout.get("metrics") or {}))
    equity = artifacts.get("holdout_equity")
    if equity is not None and len(equity):
        figure = equity_drawdown_figure(equity, title="Holdout equity and drawdown")
        parts.append(page.figure(figure))
    return parts


def _assessment(assessment: Mapping[str, Any], strategy: str) -> list[str]:
    if assessment.get("superseded"):
        return [
            note(
                f"Superseded: a later cycle assessed {strategy} again and its assessment replaced "
                "this cycle's file; this cycle's verdict is under Outcome."
            )
        ]
    parts = [f"<p>Assessor's verdict {_verdict_badge(assessment.get('verdict'))}</p>"]
    for key in ("strengths", "weaknesses", "suggestions"):
        items = assessment.get(key) or []
        if items:
            listed = "".join(f"<li>{html.escape(str(item))}</li>" for item in items)
            parts.append(f'<h3>{key.capitalize()}</h3><ul class="tight">{listed}</ul>')
    return parts


def _children(parameters: Mapping[str, Any]) -> str:
    rows = []
    for label, key in CHILD_KEYS:
        child = parameters.get(key)
        if not child:
            continue
        link = (
            f'<a href="{html.escape(sibling_report_link(child))}">report</a> · '
            f"<code>ktrdr report {html.escape(child)}</code>"
            if key in REPORTED_CHILDREN
            else "—"
        )
        rows.append(
            f"<tr><td>{html.escape(label)}</td><td><code>{html.escape(child)}</code></td>"
            f"<td>{link}</td></tr>"
        )
    return (
        '<table class="data"><thead><tr><th>step</th><th>operation</th><th>report</th></tr>'
        f"</thead><tbody>{''.join(rows)}</tbody></table>"
        + note(
            "The links work on the page the ktrdr server serves; a saved or embedded copy "
            "gets each report with its `ktrdr report OPERATION_ID` command."
        )
    )


def cycle_page(
    operation: Mapping[str, Any],
    artifacts: Mapping[str, pd.DataFrame],
    assessment: Mapping[str, Any] | None = None,
    bars: pd.DataFrame | None = None,
) -> str:
    """The report of a finished research cycle (the JSON of its GET) on one page; ``assessment``
    is ``{"superseded": True}`` when a later cycle's assessment replaced this cycle's; ``bars``
    the backtest's, for an equity artifact that predates its ``close`` column."""
    metadata = operation.get("metadata") or {}
    parameters = metadata.get("parameters") or {}
    training = parameters.get("training_result") or {}
    backtest = parameters.get("backtest_result") or {}
    symbols = backtest.get("symbols") or [parameters.get("symbol") or metadata.get("symbol")]
    symbol = " + ".join(str(s) for s in symbols if s)
    timeframe = parameters.get("timeframe") or metadata.get("timeframe")
    market = " ".join(str(p) for p in (symbol, timeframe) if p)
    subtitle = " · ".join(
        p
        for p in (market, f"designer {parameters.get('designer')}", operation.get("operation_id"))
        if p
    )
    page = Page(f"Research cycle: {parameters.get('strategy_name') or 'no strategy yet'}", subtitle)
    page.section("Outcome", *_outcome(operation, parameters))
    page.section("Design", _design(parameters))
    page.section("Gates", _gates(parameters))
    if training:
        curves = learning_curves(page, training, artifacts)
        page.section("Training", training_metric_cards(training), curves)
    if backtest:
        parts = [backtest_metric_cards(backtest.get("metrics") or {})]
        equity = artifacts.get("equity")
        folds = backtest.get("folds") or []
        if equity is not None and len(equity):
            title = "Stitched out-of-sample equity and drawdown"
            parts.append(equity_figure(page, equity, folds, bars, title))
        if folds:
            parts.append(folds_table(folds))
        if backtest.get("symbol_metrics"):
            parts.append(symbols_table(backtest["symbol_metrics"]))
        page.section("Walk-forward backtest", *parts)
    if parameters.get("statistics"):
        page.section("Statistics", _statistics(parameters["statistics"]))
    if parameters.get("holdout"):
        page.section("Holdout", *_holdout(parameters["holdout"], artifacts, page))
    if assessment:
        strategy = str(parameters.get("strategy_name") or "this strategy")
        page.section("Assessment", *_assessment(assessment, strategy))
    page.section("Operations", _children(parameters))
    return page.render()
