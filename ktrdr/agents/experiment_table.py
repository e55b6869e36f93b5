"""The experiments table people read (dashboard, ``GET /experiments``): filter, sort, page.

Each row is the memory's compact summary (``summarize_experiments``) plus the data set, the
cycle's research-window statistics and, read from the research operation (never from memory,
which designers read), its holdout result. Filtering and sorting run over every recorded
experiment in Python: the data set and the metrics live in JSON columns, and a store holds
thousands of experiments, not millions.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from ktrdr.agents.cycle.state import CycleState
from ktrdr.agents.memory import (
    EXPERIMENT_STATUSES,
    MAX_PAGE_SIZE,
    ExperimentMemory,
    ExperimentRecord,
    summarize_experiments,
)
from ktrdr.errors import NotFoundError, ValidationError
from ktrdr.operations import OperationsService

STATISTICS_KEYS = (
    "n_trials",
    "sharpe",
    "sharpe_annualized",
    "psr",
    "dsr",
    "pbo",
    "min_track_record_bars",
    "bars",
)
TEXT_SORT_KEYS = ("created_at", "strategy_name", "designer", "status", "verdict", "data_set")
NUMBER_SORT_KEYS = (
    "score",
    "test_accuracy",
    "test_loss",
    "f1",
    "sharpe_ratio",
    "total_return",
    "win_rate",
    "max_drawdown",
    "total_trades",
    *STATISTICS_KEYS,
)
SORT_KEYS = (*TEXT_SORT_KEYS, *NUMBER_SORT_KEYS, "holdout_verdict")
NO_VERDICT = "none"  # the verdict filter's name for experiments without one (gate failures ...)
VERDICTS = ("promising", "neutral", "poor", NO_VERDICT)


@dataclass(frozen=True)
class ExperimentQuery:
    """Which experiments, in which order: ``sort`` is a column, ``-sharpe_ratio`` descending."""

    verdict: str | None = None
    symbol: str | None = None
    timeframe: str | None = None
    data_set: str | None = None
    status: str | None = None
    sort: str = "-created_at"
    limit: int = 100
    offset: int = 0

    def __post_init__(self) -> None:
        if self.sort.lstrip("-") not in SORT_KEYS:
            raise ValidationError(
                f"sort {self.sort!r} is not a column; choose one of {', '.join(SORT_KEYS)} "
                "(prefix '-' for descending)",
                details={"field": "sort"},
            )
        if self.verdict is not None and self.verdict not in VERDICTS:
            raise ValidationError(
                f"verdict {self.verdict!r} is not one of {', '.join(VERDICTS)}",
                details={"field": "verdict"},
            )
        if self.status is not None and self.status not in EXPERIMENT_STATUSES:
            raise ValidationError(
                f"status {self.status!r} is not one of {', '.join(EXPERIMENT_STATUSES)}",
                details={"field": "status"},
            )
        if not 1 <= self.limit <= MAX_PAGE_SIZE:
            raise ValidationError(f"limit must be between 1 and {MAX_PAGE_SIZE}, got {self.limit}")
        if self.offset < 0:
            raise ValidationError(f"offset must be >= 0, got {self.offset}")


class ExperimentTable:
    """Experiment rows for people: the memory's rows joined with their research operations."""

    def __init__(self, memory: ExperimentMemory, operations: OperationsService) -> None:
        self.memory = memory
        self.operations = operations

    def page(self, query: ExperimentQuery) -> tuple[list[dict[str, Any]], int]:
        """One page of matching rows and the count of every match."""
        rows = [row for row in self._all_rows() if _matches(row, query)]
        key = query.sort.lstrip("-")
        if key == "holdout_verdict":
            rows = [self._with_holdout(row) for row in rows]
        descending = query.sort.startswith("-")
        present = [row for row in rows if row.get(key) is not None]
        missing = [row for row in rows if row.get(key) is None]  # last in either direction
        present.sort(key=lambda row: row[key], reverse=descending)
        ordered = present + missing
        chosen = ordered[query.offset : query.offset + query.limit]
        return [row if "holdout" in row else self._with_holdout(row) for row in chosen], len(rows)

    def get(self, experiment_id: str) -> dict[str, Any]:
        """One experiment's row plus its walk-forward folds; NotFoundError for an unknown id."""
        record = self.memory.get(experiment_id)
        row = self._with_holdout(_row(record))
        state = self._state(experiment_id)
        backtest = (state.backtest_result if state else None) or {}
        row["folds"] = [
            {
                "fold": fold.get("fold"),
                "start_date": fold.get("start_date"),
                "end_date": fold.get("end_date"),
                **{key: (fold.get("metrics") or {}).get(key) for key in _FOLD_METRICS},
            }
            for fold in backtest.get("folds") or []
        ]
        row["verdict_reason"] = state.verdict_reason if state else None
        return row

    def _all_rows(self) -> list[dict[str, Any]]:
        total = self.memory.count()
        records = []
        for offset in range(0, total, MAX_PAGE_SIZE):
            records.extend(self.memory.list(limit=MAX_PAGE_SIZE, offset=offset))
        return [_row(record) for record in records]

    def _state(self, experiment_id: str) -> CycleState | None:
        try:
            operation = self.operations.get(experiment_id)
        except NotFoundError:
            return None
        return CycleState.from_parameters(operation.metadata.parameters)

    def _with_holdout(self, row: dict[str, Any]) -> dict[str, Any]:
        state = self._state(row["experiment_id"])
        holdout = state.holdout if state else None
        row["holdout"] = holdout
        row["holdout_verdict"] = (holdout or {}).get("verdict")
        return row


_FOLD_METRICS = ("sharpe_ratio", "total_return", "max_drawdown", "total_trades", "win_rate")


def _row(record: ExperimentRecord) -> dict[str, Any]:
    (summary,) = summarize_experiments([record], limit=1)
    statistics = record.statistics or {}
    symbols, timeframe = _data_set(record.strategy)
    return {
        **summary,
        "symbols": symbols,
        "timeframe": timeframe,
        "data_set": f"{'+'.join(symbols)} {timeframe}" if symbols and timeframe else None,
        **{key: statistics.get(key) for key in STATISTICS_KEYS},
        "bootstrap_ci": statistics.get("bootstrap_ci"),
    }


def _data_set(strategy: Mapping[str, Any]) -> tuple[list[str], str | None]:
    """The strategy's symbols and base timeframe, read from its stored dict (no validation)."""
    data = strategy.get("training_data") or {}
    symbols = data.get("symbols") or {}
    timeframes = data.get("timeframes") or {}
    listed = (
        symbols.get("list") if symbols.get("mode") == "multi_symbol" else [symbols.get("symbol")]
    )
    if timeframes.get("mode") == "multi_timeframe":
        timeframe = timeframes.get("base_timeframe")
    else:
        timeframe = timeframes.get("timeframe")
    return [str(symbol) for symbol in listed or [] if symbol], timeframe


def _matches(row: Mapping[str, Any], query: ExperimentQuery) -> bool:
    if query.verdict is not None and (row["verdict"] or NO_VERDICT) != query.verdict:
        return False
    if query.status is not None and row["status"] != query.status:
        return False
    if query.symbol is not None and query.symbol not in row["symbols"]:
        return False
    if query.data_set is not None and row["data_set"] != query.data_set:
        return False
    return query.timeframe is None or row["timeframe"] == query.timeframe
