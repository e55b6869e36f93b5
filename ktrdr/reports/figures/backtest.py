"""Backtest figures: equity and drawdown, trades on the price, monthly returns, seed Sharpes."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from ktrdr.reports.downsample import downsample_ohlc, downsample_series
from ktrdr.reports.style import (
    BUY_AND_HOLD,
    DRAWDOWN,
    EXIT_MARKERS,
    FOLD_SHADES,
    LONG,
    NEUTRAL,
    SHORT,
    STRATEGY,
    styled,
)

MAX_TRADE_MARKERS = 1_000
MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


def equity_drawdown_figure(
    equity: pd.DataFrame,
    *,
    folds: Sequence[Mapping[str, Any]] = (),
    title: str = "Equity and drawdown",
) -> go.Figure:
    """Equity against buy-and-hold (when the artifact has ``close``) over the underwater curve.

    ``folds`` (``[{fold, start_date, end_date}]``) shade each walk-forward out-of-sample slice.
    """
    curve = equity["equity"].astype(np.float64)
    figure = make_subplots(
        rows=2, cols=1, shared_xaxes=True, row_heights=[0.7, 0.3], vertical_spacing=0.05
    )
    drawn = downsample_series(curve)
    figure.add_trace(
        go.Scatter(x=drawn.index, y=drawn.to_numpy(), name="strategy", line={"color": STRATEGY}),
        row=1,
        col=1,
    )
    if "close" in equity and equity["close"].notna().any():
        close = equity["close"].astype(np.float64)
        hold = downsample_series(curve.iloc[0] * close / close.dropna().iloc[0])
        figure.add_trace(
            go.Scatter(
                x=hold.index,
                y=hold.to_numpy(),
                name="buy and hold",
                line={"color": BUY_AND_HOLD, "width": 1.5},
            ),
            row=1,
            col=1,
        )
    underwater = downsample_series((curve / curve.cummax() - 1.0) * 100.0)
    figure.add_trace(
        go.Scatter(
            x=underwater.index,
            y=underwater.to_numpy(),
            name="drawdown",
            fill="tozeroy",
            line={"color": DRAWDOWN, "width": 1},
            fillcolor="rgba(192, 57, 43, 0.25)",
        ),
        row=2,
        col=1,
    )
    for number, fold in enumerate(folds):
        figure.add_vrect(
            x0=fold["start_date"],
            x1=fold["end_date"],
            fillcolor=FOLD_SHADES[number % 2],
            line_width=0,
            layer="below",
            annotation_text=f"fold {fold['fold']}",
            annotation_position="top left",
            annotation_font={"size": 11, "color": NEUTRAL},
            row=1,
            col=1,
        )
    figure.update_yaxes(title_text="equity", tickformat=",.0f", row=1, col=1)
    figure.update_yaxes(title_text="drawdown (%)", ticksuffix="%", row=2, col=1)
    figure.update_xaxes(title_text="time (UTC)", row=2, col=1)
    return styled(figure, title=title, height=520)


def price_trades_figure(bars: pd.DataFrame, trades: pd.DataFrame) -> go.Figure:
    """Candlesticks with every entry (▲ long, ▼ short) and exit, exits marked by reason.

    Past ``MAX_TRADE_MARKERS`` trades only the largest by absolute return are marked (the
    title says so); the trades artifact keeps them all.
    """
    candles = downsample_ohlc(bars)
    figure = go.Figure(
        go.Candlestick(
            x=candles.index,
            open=candles["open"],
            high=candles["high"],
            low=candles["low"],
            close=candles["close"],
            name="price",
            increasing={"line": {"color": "#7fb08f", "width": 1}},
            decreasing={"line": {"color": "#d49a93", "width": 1}},
            hoverinfo="skip" if len(candles) > 600 else None,
        )
    )
    shown = _largest_trades(trades)
    sides = ((1, "long entry", "triangle-up", LONG), (-1, "short entry", "triangle-down", SHORT))
    for direction, label, symbol, colour in sides:
        entries = shown[shown["direction"] == direction]
        if len(entries):
            figure.add_trace(_markers(entries, "entry", label, symbol, colour))
    reasons = shown["exit_reason"] if "exit_reason" in shown else pd.Series("exit", shown.index)
    for reason in sorted(reasons.unique()):
        symbol, colour = EXIT_MARKERS.get(reason, EXIT_MARKERS["signal"])
        label = "exit" if reason == "exit" else f"exit: {str(reason).replace('_', ' ')}"
        figure.add_trace(_markers(shown[reasons == reason], "exit", label, symbol, colour))
    title = "Price with trades"
    if len(shown) < len(trades):
        title += f" (the {len(shown):,} largest of {len(trades):,} trades marked)"
    if len(candles) < len(bars):
        title += f" — {len(bars):,} bars drawn as {len(candles):,} candles"
    figure.update_layout(xaxis_rangeslider_visible=False, hovermode="closest")
    figure.update_yaxes(title_text="price")
    figure.update_xaxes(title_text="time (UTC)")
    return styled(figure, title=title, height=480).update_layout(hovermode="closest")


def _largest_trades(trades: pd.DataFrame) -> pd.DataFrame:
    if len(trades) <= MAX_TRADE_MARKERS:
        return trades
    order = np.argsort(-trades["return"].abs().to_numpy(), kind="stable")
    return trades.iloc[np.sort(order[:MAX_TRADE_MARKERS])]


def _markers(trades: pd.DataFrame, side: str, label: str, symbol: str, colour: str) -> go.Scatter:
    returns = trades["return"].to_numpy() * 100.0
    size = 9 if side == "entry" else 7
    return go.Scatter(
        x=trades[f"{side}_time"],
        y=trades[f"{side}_price"],
        mode="markers",
        name=label,
        marker={"symbol": symbol, "color": colour, "size": size, "line": {"width": 1}},
        opacity=0.85 if side == "entry" else 0.6,
        customdata=returns,
        hovertemplate=f"{label}<br>%{{x}}<br>price %{{y:.5g}}<br>trade return "
        "%{customdata:.2f}%<extra></extra>",
    )


def monthly_returns(equity: pd.Series) -> pd.DataFrame:
    """Each calendar month's return in percent, years as rows and Jan..Dec as columns."""
    curve = equity.astype(np.float64)
    month_end = curve.resample("ME").last().dropna()
    previous = month_end.shift(1)
    previous.iloc[0] = curve.iloc[0]
    returns = (month_end / previous - 1.0) * 100.0
    table = pd.DataFrame(
        {"year": returns.index.year, "month": returns.index.month, "return": returns.to_numpy()}
    )
    grid = table.pivot(index="year", columns="month", values="return")
    return grid.reindex(columns=range(1, 13))


def monthly_returns_figure(equity: pd.Series) -> go.Figure:
    """A year × month heatmap of returns (green gains, red losses, centred on 0)."""
    grid = monthly_returns(equity)
    text = [[("" if np.isnan(v) else f"{v:+.1f}%") for v in row] for row in grid.to_numpy()]
    limit = float(np.nanmax(np.abs(grid.to_numpy()))) if grid.notna().any().any() else 1.0
    figure = go.Figure(
        go.Heatmap(
            z=grid.to_numpy(),
            x=list(MONTHS),
            y=[str(year) for year in grid.index],
            text=text,
            texttemplate="%{text}",
            colorscale="RdYlGn",
            zmid=0.0,
            zmin=-limit,
            zmax=limit,
            xgap=2,
            ygap=2,
            showscale=False,
            hovertemplate="%{y} %{x}: %{z:.2f}%<extra></extra>",
        )
    )
    figure.update_yaxes(title_text="year", autorange="reversed", type="category")
    figure.update_xaxes(title_text="month", side="top")
    height = 190 + 40 * len(grid)
    figure = styled(figure, title="Return per calendar month", height=min(height, 700))
    return figure.update_layout(hovermode="closest", margin={"t": 100, "b": 20})


def seed_sharpes_figure(seed_sharpes: Sequence[float | None], ensemble: float | None) -> go.Figure:
    """Each ensemble member's own stitched Sharpe ratio against the ensemble's."""
    values = [np.nan if value is None else float(value) for value in seed_sharpes]
    figure = go.Figure(
        go.Bar(
            x=[f"seed {number + 1}" for number in range(len(values))],
            y=values,
            marker_color=[LONG if v >= 0 else SHORT for v in np.nan_to_num(values)],
            name="member",
            hovertemplate="%{x}: Sharpe %{y:.2f}<extra></extra>",
        )
    )
    if ensemble is not None:
        figure.add_trace(
            go.Scatter(
                x=[f"seed {number + 1}" for number in range(len(values))],
                y=[ensemble] * len(values),
                mode="lines",
                name=f"ensemble: {ensemble:.2f}",
                line={"color": STRATEGY, "dash": "dash", "width": 2},
            )
        )
    figure.update_yaxes(title_text="annualised Sharpe ratio", zeroline=True)
    figure.update_xaxes(title_text="ensemble member")
    return styled(figure, title="Seed dispersion: each member's stitched Sharpe", height=340)
