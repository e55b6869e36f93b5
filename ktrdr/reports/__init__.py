"""Figures (plotly) and self-contained HTML reports built from stored artifacts (DESIGN §13).

For notebooks: ``operation_figure(operation, artifacts)`` draws an operation's main figure from
its JSON and the frames of the artifacts ``figure_artifact_names(operation)`` names
(``ARTIFACT_NAMES`` by operation type). The server writes every report at job end
(``ReportWriter``) and serves it, building missing ones on demand (``ReportBuilder``).
"""

from __future__ import annotations

from ktrdr.reports.artifacts import (
    ARTIFACT_NAMES,
    FORMATS,
    artifact_path,
    artifact_paths,
    check_format,
    encode_artifact,
    figure_artifact_names,
    read_artifacts,
)
from ktrdr.reports.build import (
    REPORT_FOLDERS,
    NoReportError,
    OperationNotFinishedError,
    ReportBuilder,
)
from ktrdr.reports.downsample import downsample_ohlc, downsample_series, min_max_indices
from ktrdr.reports.figure import operation_figure
from ktrdr.reports.pages.backtest import backtest_page
from ktrdr.reports.pages.cycle import cycle_page, report_url
from ktrdr.reports.pages.training import training_page
from ktrdr.reports.writer import ReportWriter

__all__ = [
    "ARTIFACT_NAMES",
    "FORMATS",
    "REPORT_FOLDERS",
    "NoReportError",
    "OperationNotFinishedError",
    "ReportBuilder",
    "ReportWriter",
    "artifact_path",
    "artifact_paths",
    "backtest_page",
    "check_format",
    "cycle_page",
    "downsample_ohlc",
    "downsample_series",
    "encode_artifact",
    "figure_artifact_names",
    "min_max_indices",
    "operation_figure",
    "read_artifacts",
    "report_url",
    "training_page",
]
