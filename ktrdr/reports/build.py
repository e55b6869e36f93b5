"""Building an operation's report from what is stored: the operation, its artifacts, the bars.

Reports live beside the artifacts under ``KTRDR_HOME``: ``backtests/<op_id>/report.html``,
``training/<op_id>/report.html`` and ``research/<op_id>/report.html``.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from pathlib import Path
from typing import Any, ClassVar

import pandas as pd

from ktrdr.data import DataRepository
from ktrdr.errors import ConflictError, DataError, KtrdrError, NotFoundError
from ktrdr.files import write_text_atomically
from ktrdr.home_paths import inside
from ktrdr.operations import OperationsService
from ktrdr.reports.artifacts import artifact_path, artifact_paths, read_artifacts

logger = logging.getLogger(__name__)

REPORT_FILE = "report.html"
REPORT_FOLDERS: Mapping[str, str] = {
    "backtesting": "backtests",
    "training": "training",
    "agent_research": "research",
}
ACTIVE = frozenset({"pending", "running"})
CYCLE_PAGE_ARTIFACTS = ("equity", "history", "holdout_equity")  # the trades stay on their pages


class NoReportError(KtrdrError):
    """The operation's type has no report (e.g. a design or a data fetch)."""

    code: ClassVar[str] = "no_report"
    http_status: ClassVar[int] = 400


class OperationNotFinishedError(ConflictError):
    """The operation is still pending or running; its report comes once it ends."""

    code: ClassVar[str] = "operation_not_finished"


class ReportBuilder:
    """Builds and stores the HTML reports of finished operations under ``home``."""

    def __init__(self, operations: OperationsService, data: DataRepository, home: Path) -> None:
        self.operations = operations
        self.data = data
        self.home = Path(home)

    def report_path(self, operation: Mapping[str, Any]) -> Path:
        """Where the report of ``operation`` is (or will be) stored."""
        folder = REPORT_FOLDERS[str(operation["operation_type"])]
        return self.home / folder / str(operation["operation_id"]) / REPORT_FILE

    def check_reportable(self, operation: Mapping[str, Any]) -> None:
        """Refuse operations without a report: other types, active ones, failed jobs."""
        operation_id, kind = operation["operation_id"], str(operation["operation_type"])
        status = str(operation["status"])
        if kind not in REPORT_FOLDERS:
            raise NoReportError(
                f"operation {operation_id} is a {kind} operation; reports exist for "
                f"{', '.join(REPORT_FOLDERS)} operations",
                details={"operation_id": operation_id, "operation_type": kind},
            )
        if status in ACTIVE:
            raise OperationNotFinishedError(
                f"operation {operation_id} is still {status}; its report is written when it "
                "ends — try again then",
                details={"operation_id": operation_id, "status": status},
            )
        if kind != "agent_research" and status != "completed":
            raise OperationNotFinishedError(
                f"operation {operation_id} {status}: it stored no artifacts, so it has no report",
                details={"operation_id": operation_id, "status": status},
            )

    def report(self, operation_id: str) -> Path:
        """The stored report of an operation, built now if it is missing."""
        operation = self._json(operation_id)
        self.check_reportable(operation)
        path = self.report_path(operation)
        return path if path.is_file() else self.write(operation)

    def write(self, operation: Mapping[str, Any]) -> Path:
        """Build the report of a finished operation and store it atomically."""
        self.check_reportable(operation)
        return write_text_atomically(self.report_path(operation), self.render(operation))

    def render(self, operation: Mapping[str, Any]) -> str:
        """The report's HTML."""
        # Imported here so that a server which never draws never loads plotly.
        from ktrdr.reports.pages.backtest import backtest_page
        from ktrdr.reports.pages.cycle import cycle_page
        from ktrdr.reports.pages.training import training_page

        kind = operation["operation_type"]
        names = CYCLE_PAGE_ARTIFACTS if kind == "agent_research" else None
        artifacts = read_artifacts(operation, names, lookup=self._lookup)
        if kind == "backtesting":
            return backtest_page(operation, artifacts, self._bars(operation))
        if kind == "training":
            return training_page(operation, artifacts)
        parameters = (operation.get("metadata") or {}).get("parameters") or {}
        backtest_id = parameters.get("backtest_op_id")
        backtest = self._lookup(backtest_id) if backtest_id else None
        bars = self._bars(backtest) if backtest is not None else None
        return cycle_page(operation, artifacts, self._assessment(operation), bars)

    def artifact_file(self, operation_id: str, name: str) -> Path:
        """The file of artifact ``name`` of an operation; NotFoundError naming the valid names
        for a name its result does not list, or a file outside KTRDR_HOME."""
        return artifact_path(self._json(operation_id), name, self.home, self._lookup)

    def artifact_names(self, operation_id: str) -> list[str]:
        """The artifact names an operation's result lists."""
        return sorted(artifact_paths(self._json(operation_id), self._lookup))

    def _json(self, operation_id: str) -> dict[str, Any]:
        return self.operations.get(operation_id).model_dump(mode="json")

    def _lookup(self, operation_id: str) -> dict[str, Any] | None:
        try:
            return self._json(operation_id)
        except NotFoundError:
            return None

    def _bars(self, operation: Mapping[str, Any]) -> pd.DataFrame | None:
        """The traded bars for the candlesticks; None when the data set is gone, or for a
        portfolio (several symbols: no one price to draw its trades on)."""
        metadata, summary = operation.get("metadata") or {}, operation.get("result_summary") or {}
        symbol, timeframe = metadata.get("symbol"), metadata.get("timeframe")
        if not symbol or not timeframe or "," in symbol or not summary.get("start_date"):
            return None
        if len(summary.get("symbols") or [symbol]) > 1:
            return None
        try:
            return self.data.load(symbol, timeframe, summary["start_date"], summary["end_date"])
        except (DataError, NotFoundError) as exc:
            logger.info("report of %s: no candlesticks: %s", operation["operation_id"], exc)
            return None

    def _assessment(self, operation: Mapping[str, Any]) -> dict[str, Any] | None:
        """The cycle's stored assessment; ``{"superseded": True}`` when the strategy's file now
        holds another assessment (each one of the strategy replaces it); None when there is none."""
        parameters = (operation.get("metadata") or {}).get("parameters") or {}
        if not parameters.get("assessment_path"):
            return None
        path = self.home / Path(parameters["assessment_path"])  # an absolute path stays itself
        if not inside(path, [self.home]) or not path.is_file():
            return None
        try:
            assessment = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            logger.warning(
                "report of %s: assessment unreadable: %s", operation["operation_id"], exc
            )
            return None
        if assessment.get("operation_id") != parameters.get("assessment_op_id"):
            return {"superseded": True}
        return assessment
