"""``operation_figure``: the main figure of an operation, for notebooks and the API's clients."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pandas as pd
import plotly.graph_objects as go

from ktrdr.errors import ValidationError
from ktrdr.reports.artifacts import ARTIFACT_NAMES, artifact_paths, figure_artifact_names
from ktrdr.reports.figures.backtest import equity_drawdown_figure
from ktrdr.reports.figures.training import loss_curves_figure
from ktrdr.reports.pages.training import epoch_history


def operation_figure(
    operation: Mapping[str, Any], artifacts: Mapping[str, pd.DataFrame]
) -> go.Figure:
    """The main figure of an operation from its JSON and its artifacts' frames.

    ``operation`` is the JSON of ``GET /operations/{id}``; ``artifacts`` maps artifact names to
    the frames ``GET /operations/{id}/artifacts/{name}?format=parquet`` returns, at least those
    ``figure_artifact_names(operation)`` lists. Backtest: equity (against buy-and-hold) and
    drawdown, walk-forward folds shaded; training: loss and accuracy per epoch (the final
    model's from the result when no ``history`` artifact is given); research cycle: its
    walk-forward backtest's equity and drawdown.
    """
    kind = str(operation.get("operation_type"))
    if kind not in ARTIFACT_NAMES:
        raise ValidationError(
            f"operation {operation.get('operation_id')} is a {kind} operation, which has no "
            f"figure; figures exist for {', '.join(ARTIFACT_NAMES)}"
        )
    summary = operation.get("result_summary") or {}
    if kind == "training":
        return loss_curves_figure(epoch_history(summary, artifacts))
    missing = [name for name in figure_artifact_names(operation) if name not in artifacts]
    if missing:
        stored = ", ".join(sorted(artifact_paths(operation))) or "none"
        raise ValidationError(
            f"no figure for operation {operation.get('operation_id')} ({operation.get('status')}):"
            f" it needs the {', '.join(missing)} artifact, which was not given (the artifacts "
            f"its result lists: {stored}; fetch one with GET /operations/{{id}}/artifacts/{{name}})"
        )
    if kind == "agent_research":
        parameters = (operation.get("metadata") or {}).get("parameters") or {}
        summary = parameters.get("backtest_result") or {}
    folds = summary.get("folds") or []
    title = "Stitched out-of-sample equity and drawdown" if folds else "Equity and drawdown"
    return equity_drawdown_figure(artifacts["equity"], folds=folds, title=title)
