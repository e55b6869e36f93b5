"""One look for every figure: fonts, colours, margins, hover labels."""

from __future__ import annotations

import plotly.graph_objects as go

FONT = "Inter, 'Segoe UI', Roboto, Helvetica, Arial, sans-serif"
STRATEGY = "#1f5fa8"
BUY_AND_HOLD = "#9aa3ad"
DRAWDOWN = "#c0392b"
LONG = "#1e8a4c"
SHORT = "#c0392b"
NEUTRAL = "#6c757d"
FOLD_SHADES = ("rgba(31, 95, 168, 0.07)", "rgba(31, 95, 168, 0.0)")
EXIT_MARKERS = {
    "signal": ("x-thin-open", "#343a40"),
    "stop": ("x", "#c0392b"),
    "trailing_stop": ("x", "#e67e22"),
    "take_profit": ("star", "#1e8a4c"),
    "end": ("square-open", "#6c757d"),
}
CLASS_COLOURS = {"sell": "#c0392b", "hold": "#9aa3ad", "buy": "#1e8a4c"}
SERIES = ("#1f5fa8", "#e67e22", "#1e8a4c", "#8e44ad", "#c0392b", "#16a085", "#7f8c8d")


def styled(figure: go.Figure, *, title: str, height: int) -> go.Figure:
    """``figure`` with the house layout: white background, readable fonts, legend on top."""
    figure.update_layout(
        template="plotly_white",
        title={"text": title, "x": 0.0, "xanchor": "left", "font": {"size": 17}},
        font={"family": FONT, "size": 13, "color": "#212529"},
        height=height,
        margin={"l": 70, "r": 30, "t": 80, "b": 50},
        legend={"orientation": "h", "yanchor": "bottom", "y": 1.02, "x": 1.0, "xanchor": "right"},
        hovermode="x unified",
        hoverlabel={"font": {"family": FONT}},
    )
    return figure
