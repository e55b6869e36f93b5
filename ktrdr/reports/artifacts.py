"""Which stored artifacts an operation has, and reading them in the formats the API serves.

An artifact is a Parquet file a job wrote and listed in its result_summary's ``artifacts``
(``{"trades": "/home/.ktrdr/backtests/<op>/trades.parquet", ...}``). A research cycle's
artifacts are its children's: the walk-forward backtest's (``equity``, ``trades``, ``folds``),
the training's (``history``) and, after a holdout look, ``holdout_equity`` and
``holdout_trades``.
"""

from __future__ import annotations

import io
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import pandas as pd

from ktrdr.errors import NotFoundError, ValidationError
from ktrdr.home_paths import inside

# The artifacts each operation type's main figure (``operation_figure``) reads.
ARTIFACT_NAMES: Mapping[str, tuple[str, ...]] = {
    "backtesting": ("equity",),
    "training": ("history",),
    "agent_research": ("equity",),
}
FORMATS: Mapping[str, str] = {
    "parquet": "application/vnd.apache.parquet",
    "csv": "text/csv; charset=utf-8",
    "json": "application/json",
}

OperationLookup = Callable[[str], Mapping[str, Any] | None]


def figure_artifact_names(operation: Mapping[str, Any]) -> tuple[str, ...]:
    """The artifact names ``operation_figure`` needs for this operation (may be empty)."""
    return ARTIFACT_NAMES.get(str(operation.get("operation_type")), ())


def artifact_paths(
    operation: Mapping[str, Any], lookup: OperationLookup | None = None
) -> dict[str, str]:
    """Artifact name -> stored path of an operation (the JSON of ``GET /operations/{id}``).

    A cycle's come from the child results stored in its parameters; ``lookup`` (operation id ->
    operation JSON) adds its holdout backtest's.
    """
    if operation.get("operation_type") != "agent_research":
        return dict((operation.get("result_summary") or {}).get("artifacts") or {})
    parameters = (operation.get("metadata") or {}).get("parameters") or {}
    paths: dict[str, str] = {}
    for key in ("training_result", "backtest_result"):
        paths.update((parameters.get(key) or {}).get("artifacts") or {})
    holdout_id = parameters.get("holdout_op_id")
    holdout = lookup(holdout_id) if lookup is not None and holdout_id else None
    if holdout and holdout.get("status") == "completed":
        stored = (holdout.get("result_summary") or {}).get("artifacts") or {}
        paths.update({f"holdout_{name}": path for name, path in stored.items()})
    return paths


def artifact_path(
    operation: Mapping[str, Any], name: str, home: Path, lookup: OperationLookup | None = None
) -> Path:
    """The stored path of artifact ``name`` under ``home``; NotFoundError naming the valid names
    otherwise. A path outside ``home`` (links resolved) is refused before its file is looked at,
    in words that do not name it, so the answer tells nothing about files outside."""
    paths = artifact_paths(operation, lookup)
    if name not in paths:
        valid = ", ".join(sorted(paths)) or "none"
        raise NotFoundError(
            f"operation {operation.get('operation_id')} has no artifact {name!r}; "
            f"its artifacts: {valid}",
            details={"name": name, "artifacts": sorted(paths)},
        )
    path = Path(paths[name])
    if not inside(path, [home]):
        raise NotFoundError(
            f"artifact {name!r} of operation {operation.get('operation_id')} lies outside "
            "KTRDR_HOME",
            details={"name": name},
        )
    if not path.is_file():
        raise NotFoundError(
            f"artifact {name!r} of operation {operation.get('operation_id')} is listed but its "
            f"file {path} is gone",
            details={"name": name, "path": str(path)},
        )
    return path


def read_artifacts(
    operation: Mapping[str, Any],
    names: tuple[str, ...] | None = None,
    lookup: OperationLookup | None = None,
) -> dict[str, pd.DataFrame]:
    """The frames of the operation's artifacts (all, or ``names``) whose files exist."""
    frames = {}
    for name, path in artifact_paths(operation, lookup).items():
        if (names is None or name in names) and Path(path).is_file():
            frames[name] = pd.read_parquet(path)
    return frames


def check_format(value: str) -> str:
    """``value`` if it is a served format (parquet, csv, json); ValidationError otherwise."""
    if value not in FORMATS:
        raise ValidationError(
            f"format {value!r} is not served; use one of {', '.join(FORMATS)}",
            details={"format": value, "formats": list(FORMATS)},
        )
    return value


def encode_artifact(path: Path, fmt: str) -> bytes:
    """The artifact file as ``fmt``: the stored Parquet bytes, or CSV / JSON records.

    CSV and JSON carry the frame's index as a column (e.g. ``time`` of the equity curve);
    JSON timestamps are ISO 8601.
    """
    if check_format(fmt) == "parquet":
        return path.read_bytes()
    frame = pd.read_parquet(path)
    if not isinstance(frame.index, pd.RangeIndex):
        frame = frame.reset_index()
    if fmt == "csv":
        return frame.to_csv(index=False).encode()
    buffer = io.StringIO()
    frame.to_json(buffer, orient="records", date_format="iso", date_unit="s")
    return buffer.getvalue().encode()
