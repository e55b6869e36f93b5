"""Figures (plotly) and self-contained HTML reports built from stored artifacts (DESIGN §13).

For notebooks: ``operation_figure(operation, artifacts)`` draws an operation's main figure from
its JSON and the frames of the artifacts ``figure_artifact_names(operation)`` names
(``ARTIFACT_NAMES`` by operation type). The server writes every report at job end
(``ReportWriter``) and serves it, building missing ones on demand (``ReportBuilder``). Names
are imported on first use (PEP 562): the API server loads plotly only when it first draws.
"""

from __future__ import annotations

from ktrdr.lazy import lazy_exports as _lazy_exports

_EXPORTS = {
    "ARTIFACT_NAMES": "artifacts",
    "FORMATS": "artifacts",
    "NoReportError": "build",
    "OperationNotFinishedError": "build",
    "REPORT_FOLDERS": "build",
    "ReportBuilder": "build",
    "ReportWriter": "writer",
    "artifact_path": "artifacts",
    "artifact_paths": "artifacts",
    "backtest_page": "pages.backtest",
    "check_format": "artifacts",
    "cycle_page": "pages.cycle",
    "downsample_ohlc": "downsample",
    "downsample_series": "downsample",
    "encode_artifact": "artifacts",
    "figure_artifact_names": "artifacts",
    "min_max_indices": "downsample",
    "operation_figure": "figure",
    "read_artifacts": "artifacts",
    "report_path": "links",
    "report_url": "links",
    "sibling_report_link": "links",
    "training_page": "pages.training",
}
__getattr__ = _lazy_exports(__name__, _EXPORTS)

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
    "report_path",
    "report_url",
    "sibling_report_link",
    "training_page",
]
