from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from support.report_frames import (
    backtest_operation,
    equity_frame,
    history_frame,
    trades_frame,
    training_operation,
)

from ktrdr.errors import ValidationError
from ktrdr.reports import ARTIFACT_NAMES, figure_artifact_names, operation_figure
from ktrdr.reports.figures.backtest import (
    equity_drawdown_figure,
    monthly_returns,
    price_trades_figure,
)
from ktrdr.reports.figures.training import confusion_figure


def test_equity_figure_draws_strategy_buy_and_hold_and_drawdown(bars: pd.DataFrame) -> None:
    equity = equity_frame(bars)
    figure = equity_drawdown_figure(equity)
    names = [trace.name for trace in figure.data]
    assert names == ["strategy", "buy and hold", "drawdown"]
    hold = figure.data[1].y
    assert hold[0] == pytest.approx(equity["equity"].iloc[0])
    assert hold[-1] == pytest.approx(
        equity["equity"].iloc[0] * bars["close"].iloc[-1] / bars["close"].iloc[0]
    )
    underwater = figure.data[2].y
    assert max(underwater) <= 0.0
    assert figure.layout.yaxis2.title.text == "drawdown (%)"


def test_equity_without_close_draws_no_buy_and_hold(bars: pd.DataFrame) -> None:
    figure = equity_drawdown_figure(equity_frame(bars).drop(columns="close"))
    assert [trace.name for trace in figure.data] == ["strategy", "drawdown"]


def test_walk_forward_folds_are_shaded_and_named(bars: pd.DataFrame) -> None:
    folds = backtest_operation(bars, folds=True)["result_summary"]["folds"]
    figure = equity_drawdown_figure(equity_frame(bars), folds=folds)
    assert len(figure.layout.shapes) == 2
    assert [a.text for a in figure.layout.annotations] == ["fold 1", "fold 2"]


def test_a_million_bar_curve_is_drawn_with_a_few_thousand_points() -> None:
    index = pd.date_range("2000-01-01", periods=1_000_000, freq="min", tz="UTC")
    curve = 1e5 * np.cumprod(1 + np.random.default_rng(1).normal(0, 1e-4, len(index)))
    figure = equity_drawdown_figure(pd.DataFrame({"equity": curve}, index=index))
    assert all(len(trace.y) <= 4_002 for trace in figure.data)
    assert min(figure.data[0].y) == curve.min() and max(figure.data[0].y) == curve.max()


def test_exits_are_marked_by_reason_when_the_trades_have_one(bars: pd.DataFrame) -> None:
    figure = price_trades_figure(bars, trades_frame(bars))
    names = {trace.name for trace in figure.data}
    assert {"long entry", "short entry", "exit: stop", "exit: take profit"} <= names
    assert {"exit: signal", "exit: trailing stop"} <= names
    stop = next(t for t in figure.data if t.name == "exit: stop")
    profit = next(t for t in figure.data if t.name == "exit: take profit")
    assert stop.marker.symbol != profit.marker.symbol


def test_exits_without_reasons_are_one_series(bars: pd.DataFrame) -> None:
    figure = price_trades_figure(bars, trades_frame(bars, with_reason=False))
    assert [t.name for t in figure.data] == ["price", "long entry", "short entry", "exit"]


def test_many_trades_mark_only_the_largest(bars: pd.DataFrame, monkeypatch) -> None:
    monkeypatch.setattr("ktrdr.reports.figures.backtest.MAX_TRADE_MARKERS", 6)
    figure = price_trades_figure(bars, trades_frame(bars, n=20))
    entries = sum(len(t.x) for t in figure.data if "entry" in t.name)
    assert entries == 6
    assert "the 6 largest of 20 trades" in figure.layout.title.text


def test_monthly_returns_compound_to_the_total_return(bars: pd.DataFrame) -> None:
    equity = equity_frame(bars)["equity"]
    grid = monthly_returns(equity)
    growth = np.prod(1 + grid.stack().dropna().to_numpy() / 100.0)
    assert growth == pytest.approx(equity.iloc[-1] / equity.iloc[0])
    assert list(grid.columns) == list(range(1, 13))


def test_confusion_cells_show_counts_and_row_shares() -> None:
    figure = confusion_figure(np.array([[3, 1], [0, 4]]), ["sell", "buy"], title="c")
    assert figure.data[0].text[0][0] == "3<br>75%"
    assert figure.data[0].z[1][1] == pytest.approx(100.0)


def test_operation_figure_of_a_backtest_is_its_equity(bars: pd.DataFrame) -> None:
    operation = backtest_operation(bars, folds=True)
    assert figure_artifact_names(operation) == ("equity",)
    figure = operation_figure(operation, {"equity": equity_frame(bars)})
    assert figure.data[0].name == "strategy" and len(figure.layout.shapes) == 2


def test_operation_figure_of_a_training_is_its_curves() -> None:
    operation = training_operation()
    figure = operation_figure(operation, {"history": history_frame()})
    assert "final: train" in {t.name for t in figure.data}
    fallback = operation_figure(operation, {})  # the result's own history
    assert list(fallback.data[0].y) == [1.0, 0.9, 0.8]


def test_operation_figure_of_a_cycle_is_its_backtest(bars: pd.DataFrame) -> None:
    backtest = backtest_operation(bars, folds=True)["result_summary"]
    cycle = {
        "operation_id": "op_agent_research_1",
        "operation_type": "agent_research",
        "metadata": {"parameters": {"backtest_result": backtest}},
    }
    figure = operation_figure(cycle, {"equity": equity_frame(bars)})
    assert figure.layout.title.text.startswith("Stitched")


def test_operation_figure_names_what_is_missing_or_unsupported(bars: pd.DataFrame) -> None:
    with pytest.raises(ValidationError, match="needs the equity artifact, which was not given"):
        operation_figure(backtest_operation(bars), {})
    with pytest.raises(ValidationError, match="agent_design operation, which has no figure"):
        operation_figure({"operation_id": "x", "operation_type": "agent_design"}, {})
    assert set(ARTIFACT_NAMES) == {"backtesting", "training", "agent_research"}
