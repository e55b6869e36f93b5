"""Training figures: loss and accuracy per epoch, confusion matrix, label distribution."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from ktrdr.reports.style import CLASS_COLOURS, SERIES, styled

HISTORY_COLUMNS = ("model", "epoch", "train_loss", "val_loss", "val_accuracy")
FINAL_MODEL = "final"


def loss_curves_figure(history: pd.DataFrame) -> go.Figure:
    """Train (solid) and validation (dashed) loss, and validation accuracy, per epoch.

    ``history`` has the columns ``HISTORY_COLUMNS``, one row per model (``final``, ``fold 1``…)
    and epoch; the final model is drawn thickest.
    """
    figure = make_subplots(
        rows=1,
        cols=2,
        subplot_titles=("Loss per epoch", "Validation accuracy per epoch"),
        horizontal_spacing=0.1,
    )
    models = sorted(history["model"].unique(), key=lambda name: (name != FINAL_MODEL, name))
    for number, model in enumerate(models):
        rows = history[history["model"] == model].sort_values("epoch")
        colour = SERIES[number % len(SERIES)]
        width = 3 if model == FINAL_MODEL else 1.5
        group = {"legendgroup": model, "line": {"color": colour, "width": width}}
        figure.add_trace(
            go.Scatter(x=rows["epoch"], y=rows["train_loss"], name=f"{model}: train", **group),
            row=1,
            col=1,
        )
        dashed = {**group, "line": {**group["line"], "dash": "dash"}}
        figure.add_trace(
            go.Scatter(x=rows["epoch"], y=rows["val_loss"], name=f"{model}: validation", **dashed),
            row=1,
            col=1,
        )
        figure.add_trace(
            go.Scatter(
                x=rows["epoch"],
                y=rows["val_accuracy"] * 100.0,
                name=f"{model}: accuracy",
                showlegend=False,
                **group,
            ),
            row=1,
            col=2,
        )
    figure.update_xaxes(title_text="epoch")
    figure.update_yaxes(title_text="cross-entropy loss", row=1, col=1)
    figure.update_yaxes(title_text="accuracy (%)", ticksuffix="%", row=1, col=2)
    figure = styled(figure, title="Training curves", height=460)
    return figure.update_layout(
        legend={"orientation": "v", "y": 1.0, "yanchor": "top", "x": 1.02, "xanchor": "left"},
        margin={"r": 190},
    )


def confusion_figure(matrix: np.ndarray, labels: Sequence[str], *, title: str) -> go.Figure:
    """Counts of true (rows) against predicted (columns) classes, each cell with its row share."""
    counts = np.asarray(matrix, dtype=np.float64)
    totals = counts.sum(axis=1, keepdims=True)
    shares = np.divide(counts, totals, out=np.zeros_like(counts), where=totals > 0) * 100.0
    text = [
        [f"{int(count):,}<br>{share:.0f}%" for count, share in zip(row, share_row, strict=True)]
        for row, share_row in zip(counts, shares, strict=True)
    ]
    figure = go.Figure(
        go.Heatmap(
            z=shares,
            x=list(labels),
            y=list(labels),
            text=text,
            texttemplate="%{text}",
            colorscale="Blues",
            zmin=0,
            zmax=100,
            colorbar={"ticksuffix": "%", "thickness": 14},
            hovertemplate="true %{y}, predicted %{x}: %{text}<extra></extra>",
        )
    )
    figure.update_xaxes(title_text="predicted class", side="bottom")
    figure.update_yaxes(title_text="true class", autorange="reversed")
    figure = styled(figure, title=title, height=400)
    return figure.update_layout(hovermode="closest", margin={"l": 90, "r": 260})


def label_distribution_figure(distribution: Mapping[str, Mapping[str, int]]) -> go.Figure:
    """Share of each class (sell, hold, buy) in each split (train, val, test)."""
    figure = go.Figure()
    splits = list(distribution)
    classes = list(next(iter(distribution.values()))) if distribution else []
    for number, label in enumerate(classes):
        shares, counts = [], []
        for split in splits:
            total = sum(distribution[split].values()) or 1
            counts.append(distribution[split].get(label, 0))
            shares.append(100.0 * counts[-1] / total)
        figure.add_trace(
            go.Bar(
                x=splits,
                y=shares,
                name=label,
                marker_color=CLASS_COLOURS.get(label, SERIES[number % len(SERIES)]),
                customdata=counts,
                text=[f"{share:.0f}%" for share in shares],
                textposition="inside",
                hovertemplate=f"{label}, %{{x}}: %{{y:.1f}}% (%{{customdata:,}} samples)"
                "<extra></extra>",
            )
        )
    figure.update_layout(barmode="group", hovermode="closest")
    figure.update_yaxes(title_text="share of samples (%)", ticksuffix="%")
    figure.update_xaxes(title_text="split")
    return styled(figure, title="Label distribution", height=360).update_layout(hovermode="closest")
