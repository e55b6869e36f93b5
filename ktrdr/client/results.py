"""What ``ktrdr.Client`` returns: rows and operations shown as tables, figures and reports."""

from __future__ import annotations

import html
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

if TYPE_CHECKING:
    import plotly.graph_objects as go

TERMINAL_STATUSES = frozenset({"completed", "failed", "cancelled"})
REPORT_HEIGHT_PX = 900


class Rows(list[dict[str, Any]]):
    """A list of API rows (dicts) that a notebook shows as a table."""

    def to_frame(self) -> pd.DataFrame:
        """The rows as a DataFrame, one column per key."""
        return pd.DataFrame.from_records(list(self))

    def _repr_html_(self) -> str:
        return self.to_frame().to_html(index=False, na_rep="—")


@dataclass(frozen=True)
class Report:
    """One operation's self-contained HTML report; a notebook shows it inline."""

    operation_id: str
    html: str

    def __repr__(self) -> str:
        return f"Report({self.operation_id!r}, {len(self.html):,} characters of HTML)"

    def save(self, path: str | Path) -> Path:
        """Write the report to ``path`` and return it; it opens offline in any browser."""
        target = Path(path)
        target.write_text(self.html, encoding="utf-8")
        return target

    def _repr_html_(self) -> str:
        # A sandboxed iframe runs the report's scripts (plotly) in an opaque origin: they
        # cannot reach the notebook's page, cookies or kernel, and its styles stay apart.
        return (
            f'<iframe title="ktrdr report {html.escape(self.operation_id)}" '
            'sandbox="allow-scripts" '
            f'srcdoc="{html.escape(self.html, quote=True)}" '
            f'style="width:100%;height:{REPORT_HEIGHT_PX}px;border:0"></iframe>'
        )


@dataclass(frozen=True)
class Operation:
    """An operation as GET /operations/{id} returned it, with its metrics, figure and report."""

    data: dict[str, Any]
    _figure: Callable[[Operation], go.Figure] = field(repr=False, compare=False)
    _report: Callable[[str], Report] = field(repr=False, compare=False)

    @property
    def id(self) -> str:
        """The operation id."""
        return str(self.data["operation_id"])

    @property
    def type(self) -> str:
        """The operation type, e.g. ``agent_research``, ``training``, ``backtesting``."""
        return str(self.data["operation_type"])

    @property
    def status(self) -> str:
        """``pending``, ``running``, ``completed``, ``failed`` or ``cancelled``."""
        return str(self.data["status"])

    @property
    def done(self) -> bool:
        """Whether the operation has ended (completed, failed or cancelled)."""
        return self.status in TERMINAL_STATUSES

    @property
    def result(self) -> dict[str, Any]:
        """The result summary (empty until the operation completes)."""
        return self.data.get("result_summary") or {}

    def metrics(self) -> dict[str, Any]:
        """The headline numbers of this operation, flat: ``{"backtest.sharpe_ratio": 0.8, ...}``."""
        return dict(_headline(self.type, self.data))

    def to_frame(self) -> pd.DataFrame:
        """The headline numbers as a one-column DataFrame named by the operation id."""
        return pd.DataFrame({self.id: pd.Series(self.metrics(), dtype=object)})

    def figure(self) -> go.Figure:
        """The operation's main plotly figure (equity and drawdown, training curves, ...)."""
        return self._figure(self)

    def report(self) -> Report:
        """The operation's HTML report (the one GET /operations/{id}/report serves)."""
        return self._report(self.id)

    def __repr__(self) -> str:
        return f"Operation({self.id!r}, {self.type}, {self.status})"

    def _repr_html_(self) -> str:
        step = (self.data.get("progress") or {}).get("current_step") or ""
        error = self.data.get("error_message")
        lines = [
            f"<p><b>{html.escape(self.type)}</b> {html.escape(self.id)}: "
            f"{html.escape(self.status)} {html.escape(str(step))}</p>"
        ]
        if error:
            lines.append(f"<p>{html.escape(str(error))}</p>")
        if self.metrics():
            lines.append(self.to_frame().to_html(na_rep="—"))
        return "\n".join(lines)


def _headline(operation_type: str, data: Mapping[str, Any]) -> list[tuple[str, Any]]:
    result = data.get("result_summary") or {}
    if operation_type == "backtesting":
        return _prefixed("backtest", result.get("metrics"))
    if operation_type == "training":
        return _prefixed("test", result.get("test_metrics"))
    if operation_type == "agent_research":
        return _cycle_headline(((data.get("metadata") or {}).get("parameters")) or {})
    return [(key, value) for key, value in result.items() if _is_scalar(value)]


def _cycle_headline(params: Mapping[str, Any]) -> list[tuple[str, Any]]:
    holdout = params.get("holdout") or {}
    rows: list[tuple[str, Any]] = [
        ("strategy", params.get("strategy_name")),
        ("verdict", params.get("verdict")),
        ("verdict_reason", params.get("verdict_reason")),
        ("holdout_verdict", holdout.get("verdict")),
    ]
    rows += _prefixed("test", (params.get("training_result") or {}).get("test_metrics"))
    rows += _prefixed("backtest", (params.get("backtest_result") or {}).get("metrics"))
    rows += _prefixed("statistics", params.get("statistics"))
    return [(key, value) for key, value in rows if value is not None]


def _prefixed(prefix: str, values: Mapping[str, Any] | None) -> list[tuple[str, Any]]:
    items = (values or {}).items()
    return [(f"{prefix}.{key}", value) for key, value in items if _is_scalar(value)]


def _is_scalar(value: object) -> bool:
    return value is None or isinstance(value, str | int | float | bool)
