"""The backtest page: metrics, equity vs buy-and-hold, drawdown, trades on the price, months."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import pandas as pd

from ktrdr.reports.figures.backtest import (
    equity_drawdown_figure,
    monthly_returns_figure,
    price_trades_figure,
    seed_sharpes_figure,
)
from ktrdr.reports.formatting import day, decimal, minutes, percent, whole
from ktrdr.reports.html import Page, cards, note, table

TRADES_SHOWN = 100


def backtest_metric_cards(metrics: Mapping[str, Any]) -> str:
    """The headline numbers of a backtest as cards."""
    return cards(
        [
            ("total return", percent(metrics.get("total_return"))),
            ("annualised return", percent(metrics.get("annualized_return"))),
            ("Sharpe ratio", decimal(metrics.get("sharpe_ratio")), "annualised"),
            ("Sortino ratio", decimal(metrics.get("sortino_ratio"))),
            ("max drawdown", percent(metrics.get("max_drawdown"))),
            ("win rate", percent(metrics.get("win_rate"), 1)),
            ("profit factor", decimal(metrics.get("profit_factor"))),
            ("trades", whole(metrics.get("total_trades"))),
            ("avg trade", percent(metrics.get("avg_trade_return"), 3)),
            ("exposure", percent(metrics.get("exposure"), 1), "share of bars in a position"),
            ("buy and hold", percent(metrics.get("buy_and_hold_return"))),
        ]
    )


def folds_table(folds: Sequence[Mapping[str, Any]]) -> str:
    """Each walk-forward fold's out-of-sample slice and metrics."""
    rows = []
    for fold in folds:
        metrics = fold.get("metrics") or {}
        rows.append((
            fold["fold"], day(fold.get("start_date")), day(fold.get("end_date")),
            whole(fold.get("bars")), percent(metrics.get("total_return")),
            decimal(metrics.get("sharpe_ratio")), percent(metrics.get("max_drawdown")),
            whole(metrics.get("total_trades")), percent(metrics.get("win_rate"), 1),
        ))  # fmt: skip
    columns = ("fold", "from", "to", "bars", "return", "Sharpe", "max DD", "trades", "win rate")
    return table(columns, rows, numeric=(True, False, False, *[True] * 6))


def symbols_table(symbol_metrics: Mapping[str, Mapping[str, Any]]) -> str:
    """A portfolio's per-symbol figures (its trades, win rate, P&L, exposure, buy and hold)."""
    rows = [
        (
            symbol,
            whole(metrics.get("total_trades")),
            percent(metrics.get("win_rate"), 1),
            decimal(metrics.get("profit_factor")),
            percent(metrics.get("avg_trade_return"), 3),
            decimal(metrics.get("total_pnl")),
            percent(metrics.get("exposure"), 1),
            percent(metrics.get("buy_and_hold_return")),
        )
        for symbol, metrics in symbol_metrics.items()
    ]
    columns = (
        "symbol", "trades", "win rate", "profit factor", "avg trade", "P&L", "exposure",
        "buy and hold",
    )  # fmt: skip
    return table(columns, rows, numeric=(False, *[True] * 7))


def trades_table(trades: pd.DataFrame, limit: int = TRADES_SHOWN) -> str:
    """The last ``limit`` trades, with the symbol (a portfolio's) and the exit reason when the
    artifact has them."""
    shown = trades.tail(limit).iloc[::-1]
    has_symbol, has_reason = "symbol" in trades, "exit_reason" in trades
    columns = ["entry", "exit", "side", "entry price", "exit price", "return", "P&L", "bars"]
    numeric = [False, False, False, True, True, True, True, True]
    if has_symbol:
        columns.insert(0, "symbol")
        numeric.insert(0, False)
    if has_reason:
        columns.append("exit reason")
        numeric.append(False)
    rows = []
    for values in shown.to_dict("records"):
        row = [
            minutes(pd.Timestamp(values["entry_time"]).isoformat()),
            minutes(pd.Timestamp(values["exit_time"]).isoformat()),
            "long" if values["direction"] > 0 else "short",
            f"{values['entry_price']:.5g}",
            f"{values['exit_price']:.5g}",
            percent(values["return"]),
            decimal(values["pnl"]),
            whole(values["bars_held"]),
        ]
        if has_symbol:
            row.insert(0, str(values["symbol"]))
        if has_reason:
            row.append(str(values["exit_reason"]).replace("_", " "))
        rows.append(row)
    return table(columns, rows, numeric=numeric)


def equity_figure(
    page: Page,
    equity: pd.DataFrame,
    folds: Sequence[Mapping[str, Any]],
    bars: pd.DataFrame | None,
    title: str | None = None,
) -> str:
    """The equity and drawdown figure (shared by the backtest and cycle pages); an equity
    artifact without ``close`` (written before it carried one) takes it from ``bars``."""
    if "close" not in equity and bars is not None:
        equity = equity.assign(close=bars["close"].reindex(equity.index))
    if title is None:
        title = "Stitched out-of-sample equity and drawdown" if folds else "Equity and drawdown"
    return page.figure(equity_drawdown_figure(equity, folds=folds, title=title))


def add_backtest_sections(
    page: Page,
    summary: Mapping[str, Any],
    artifacts: Mapping[str, pd.DataFrame],
    bars: pd.DataFrame | None,
) -> None:
    """The backtest page's sections; the cycle page shows its backtest with the same parts
    (``backtest_metric_cards``, ``equity_figure``, ``folds_table``)."""
    metrics = summary.get("metrics") or {}
    folds = summary.get("folds") or []
    page.section("Metrics", backtest_metric_cards(metrics), _in_sample_note(summary))
    symbol_metrics = summary.get("symbol_metrics")
    if symbol_metrics:
        caption = note(
            "One cash account; the metrics above are the portfolio's, these are each symbol's."
        )
        page.section("Symbols", caption, symbols_table(symbol_metrics))
    equity = artifacts.get("equity")
    if equity is not None and len(equity):
        page.section("Equity", equity_figure(page, equity, folds, bars))
    if folds:
        parts = [folds_table(folds)]
        seed_sharpes = summary.get("seed_sharpes") or []
        if seed_sharpes:
            figure = seed_sharpes_figure(seed_sharpes, metrics.get("sharpe_ratio"))
            parts.append(page.figure(figure))
        page.section("Walk-forward folds", *parts)
    trades = artifacts.get("trades")
    if bars is not None and trades is not None:
        page.section("Trades on the price", page.figure(price_trades_figure(bars, trades)))
    if equity is not None and len(equity) > 1:
        page.section("Monthly returns", page.figure(monthly_returns_figure(equity["equity"])))
    if trades is not None:
        caption = note(
            f"The {min(len(trades), TRADES_SHOWN):,} most recent of {len(trades):,} trades; "
            "every trade is in the trades artifact."
        )
        page.section("Trades", caption, trades_table(trades))


def _in_sample_note(summary: Mapping[str, Any]) -> str:
    if summary.get("in_sample"):
        return note("In-sample backtest: the model saw these bars in training; not evidence.")
    return ""


def backtest_page(
    operation: Mapping[str, Any],
    artifacts: Mapping[str, pd.DataFrame],
    bars: pd.DataFrame | None = None,
) -> str:
    """The backtest report of a completed backtesting operation (the JSON of its GET)."""
    summary = operation.get("result_summary") or {}
    metadata = operation.get("metadata") or {}
    parameters = metadata.get("parameters") or {}
    mode = summary.get("mode", "range")
    kind = {"walk_forward": "Walk-forward backtest", "holdout": "Holdout backtest"}
    subtitle = " · ".join(
        str(part)
        for part in (
            parameters.get("strategy_name"),
            f"{' + '.join(summary.get('symbols') or [metadata.get('symbol')])} "
            f"{metadata.get('timeframe')}",
            f"{day(summary.get('start_date'))} to {day(summary.get('end_date'))}",
            f"{whole(summary.get('bars'))} bars",
            operation.get("operation_id"),
        )
        if part
    )
    page = Page(kind.get(mode, "Backtest"), subtitle)
    add_backtest_sections(page, summary, artifacts, bars)
    return page.render()
