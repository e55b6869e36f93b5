from __future__ import annotations

import re

import pandas as pd
from support.report_frames import (
    backtest_operation,
    equity_frame,
    history_frame,
    trades_frame,
    training_operation,
)

from ktrdr.reports import backtest_page, cycle_page, training_page

PLOTLY_BUNDLE = "plotly.js v"  # the banner at the top of the inlined library


def _scripts_from_the_network(page: str) -> list[str]:
    return re.findall(r"<script[^>]+src=[\"']?https?://", page, flags=re.IGNORECASE)


def test_backtest_page_is_self_contained_with_plotly_inlined_once(bars: pd.DataFrame) -> None:
    artifacts = {"equity": equity_frame(bars), "trades": trades_frame(bars)}
    page = backtest_page(backtest_operation(bars), artifacts, bars)
    assert page.startswith("<!DOCTYPE html>")
    assert page.count(PLOTLY_BUNDLE) == 1
    assert not _scripts_from_the_network(page)
    for heading in ("Metrics", "Equity", "Trades on the price", "Monthly returns", "Trades"):
        assert f"<h2>{heading}</h2>" in page
    assert page.count('class="plotly-graph-div"') == 3
    assert "take profit" in page  # the trades table's exit reasons


def test_a_portfolio_page_names_its_symbols_and_shows_each_symbols_figures(
    bars: pd.DataFrame,
) -> None:
    operation = backtest_operation(bars)
    operation["result_summary"]["symbols"] = ["SP500", "NASDAQ"]
    operation["result_summary"]["symbol_metrics"] = {
        "SP500": {"total_trades": 7, "win_rate": 0.5, "total_pnl": 120.0},
        "NASDAQ": {"total_trades": 3, "win_rate": 1.0, "total_pnl": -40.0},
    }
    trades = trades_frame(bars).assign(symbol=["SP500", "NASDAQ"] * 10)

    page = backtest_page(operation, {"equity": equity_frame(bars), "trades": trades})

    assert "SP500 + NASDAQ" in page
    assert "<h2>Symbols</h2>" in page
    assert "120.00" in page and "-40.00" in page  # each symbol's P&L
    assert "<th>symbol</th>" in page  # the trades table names each trade's symbol
    assert "Trades on the price" not in page  # no single price to draw a portfolio's trades on


def test_walk_forward_page_shows_folds_and_seed_dispersion(bars: pd.DataFrame) -> None:
    page = backtest_page(backtest_operation(bars, folds=True), {"equity": equity_frame(bars)})
    assert "<title>Walk-forward backtest</title>" in page
    assert "<h2>Walk-forward folds</h2>" in page
    assert "Seed dispersion" in page
    assert "Trades on the price" not in page  # no bars, no trades: no candlesticks


def test_page_text_is_escaped(bars: pd.DataFrame) -> None:
    operation = backtest_operation(bars)
    operation["metadata"]["parameters"]["strategy_name"] = "<script>alert(1)</script>"
    page = backtest_page(operation, {"equity": equity_frame(bars)})
    assert "<script>alert(1)</script>" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page


def test_training_page_shows_curves_confusion_labels_and_features() -> None:
    page = training_page(training_operation(), {"history": history_frame()})
    assert page.count(PLOTLY_BUNDLE) == 1
    assert "Confusion matrix over all out-of-sample fold slices" in page
    assert "Label distribution" in page
    assert "1h_rsi_zone_high" in page
    assert "<h2>Features (2)</h2>" in page


def test_training_page_without_stored_confusion_says_so() -> None:
    operation = training_operation()
    operation["result_summary"]["test_metrics"].pop("confusion")
    operation["result_summary"]["walk_forward"] = {}
    page = training_page(operation, {})
    assert "stored no confusion counts" in page
    assert "Learning curves" in page  # from the result's own history


def _cycle(bars: pd.DataFrame, **parameters: object) -> dict:
    backtest = backtest_operation(bars, folds=True)["result_summary"]
    return {
        "operation_id": "op_agent_research_1",
        "operation_type": "agent_research",
        "status": "completed",
        "metadata": {
            "symbol": None,
            "parameters": {
                "strategy_name": "demo",
                "designer": "offline",
                "training_op_id": "op_training_1",
                "backtest_op_id": "op_backtesting_1",
                "training_gate": {"passed": True, "reason": "passed"},
                "backtest_gate": {"passed": True, "reason": "passed"},
                "training_result": training_operation()["result_summary"],
                "backtest_result": backtest,
                "statistics": {"n_trials": 7, "psr": 0.8, "dsr": 0.4, "bootstrap_ci": [-1, 2]},
                "verdict": "neutral",
                "verdict_reason": "dsr 0.40 < 0.95 (7 trials)",
                **parameters,
            },
        },
    }


def test_cycle_page_walks_from_design_to_assessment(bars: pd.DataFrame) -> None:
    holdout = {"verdict": "confirmed", "metrics": {"sharpe_ratio": 1.1}, "looks": 1}
    assessment = {"verdict": "neutral", "strengths": ["steady"], "weaknesses": ["few trades"]}
    artifacts = {
        "equity": equity_frame(bars),
        "history": history_frame(),
        "holdout_equity": equity_frame(bars),
    }
    page = cycle_page(_cycle(bars, holdout=holdout), artifacts, assessment)
    order = ["Outcome", "Design", "Gates", "Training", "Walk-forward backtest", "Statistics",
             "Holdout", "Assessment", "Operations"]  # fmt: skip
    positions = [page.index(f"<h2>{heading}</h2>") for heading in order]
    assert positions == sorted(positions)
    assert page.count(PLOTLY_BUNDLE) == 1
    assert "dsr 0.40 &lt; 0.95 (7 trials)" in page
    assert 'href="../op_backtesting_1/report"' in page
    assert "<code>ktrdr report op_backtesting_1</code>" in page
    assert "/api/v1/" not in page
    assert "Holdout equity and drawdown" in page
    assert "few trades" in page


def test_a_cycle_that_failed_at_a_gate_still_has_a_page(bars: pd.DataFrame) -> None:
    cycle = _cycle(bars, backtest_gate={"passed": False, "reason": "too_few_trades (3 < 5)"})
    cycle["status"] = "failed"
    cycle["error_message"] = "Backtest gate failed: too_few_trades (3 < 5)"
    for key in ("statistics", "verdict", "verdict_reason"):
        cycle["metadata"]["parameters"].pop(key)
    page = cycle_page(cycle, {})
    assert "Backtest gate failed: too_few_trades (3 &lt; 5)" in page
    assert "<h2>Statistics</h2>" not in page


def test_the_timeline_colours_a_neutral_verdict_as_neutral_not_failed(bars: pd.DataFrame) -> None:
    cycle = _cycle(bars, deterministic_verdict="neutral")
    page = cycle_page(cycle, {})
    assert '<li class="meh"><b>statistics</b>' in page
    assert '<li class="meh"><b>assessment</b>' in page
    assert '<li class="good"><b>backtest gate</b>' in page


def test_a_cycle_page_fills_an_older_equity_artifacts_close_from_the_bars(
    bars: pd.DataFrame,
) -> None:
    older = {"equity": equity_frame(bars).drop(columns="close")}
    without_bars = cycle_page(_cycle(bars), older)
    with_bars = cycle_page(_cycle(bars), older, bars=bars)
    assert '"name":"buy and hold"' not in without_bars
    assert with_bars.count('"name":"buy and hold"') == 1
