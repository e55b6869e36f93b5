"""Backtest metrics for people: annualised figures from under a year say how many days."""

from __future__ import annotations

import pytest

from ktrdr.cli.agent import render_outcome
from ktrdr.cli.backtest import format_metric, metric_rows, render_backtest_summary

SHORT = {
    "total_return": 0.0371,
    "annualized_return": 0.428,
    "annualized_from_days": 36.96,
    "annualization_reliable": False,
    "sharpe_ratio": 4.27,
    "sharpe_ratio_daily": 2.1,
    "sortino_ratio": None,
    "total_trades": 13,
}
LONG = {**SHORT, "annualized_from_days": 730.0, "annualization_reliable": True}


@pytest.mark.parametrize(
    ("key", "kind", "text"),
    [
        ("annualized_return", "percent", "42.80% (from 37 days)"),
        ("sharpe_ratio", "ratio", "4.27 (from 37 days)"),
        ("sharpe_ratio_daily", "ratio", "2.10 (from 37 days)"),
        ("sortino_ratio", "ratio", "—"),
        ("total_return", "percent", "3.71%"),  # the period return is no extrapolation
        ("total_trades", "int", "13"),
    ],
)
def test_annualised_figures_from_under_a_year_are_marked(key: str, kind: str, text: str) -> None:
    assert format_metric(SHORT, key, kind) == text


def test_a_year_or_more_and_older_results_are_not_marked() -> None:
    assert format_metric(LONG, "annualized_return", "percent") == "42.80%"
    # A result stored before the flag existed has no span to name.
    assert format_metric({"sharpe_ratio": 1.5}, "sharpe_ratio", "ratio") == "1.50"


def test_the_metric_rows_show_both_sharpe_ratios() -> None:
    rows = dict(metric_rows(SHORT))
    assert rows["total return (period)"] == "3.71%"
    assert rows["sharpe ratio (annualised, bar returns)"] == "4.27 (from 37 days)"
    assert rows["sharpe ratio (annualised, daily returns)"] == "2.10 (from 37 days)"


def test_the_backtest_summary_prints_the_flag(capsys: pytest.CaptureFixture[str]) -> None:
    render_backtest_summary(
        {
            "operation_id": "op_backtesting_1",
            "metadata": {"symbol": "EURUSD", "timeframe": "1h"},
            "result_summary": {"mode": "walk_forward", "metrics": SHORT, "bars": 888},
        }
    )
    out = capsys.readouterr().out
    assert "42.80% (from 37 days)" in out
    assert "sharpe ratio (annualised, daily returns)" in out


def test_the_research_outcome_shows_baselines_and_flagged_annualised_figures(
    capsys: pytest.CaptureFixture[str],
) -> None:
    training = {
        "test_metrics": {
            "test_accuracy": 0.423,
            "balanced_accuracy": 0.341,
            "test_loss": 0.968,
            "prior_log_loss": 0.952,
        }
    }
    render_outcome(
        {
            "operation_id": "op_agent_research_1",
            "status": "completed",
            "metadata": {
                "parameters": {
                    "training_result": training,
                    "backtest_result": {"metrics": SHORT},
                }
            },
        }
    )
    out = capsys.readouterr().out
    assert "Balanced accuracy" in out and "34.10%" in out
    assert "Prior log-loss" in out and "0.9520" in out
    assert "Walk-forward OOS return" in out and "3.71%" in out
    assert "42.80% (from 37 days)" in out and "4.27 (from 37 days)" in out
