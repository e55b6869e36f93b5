"""Trial accounting (DESIGN §11): every walk-forward evaluation of a data set's research window.

A trial is a completed ``backtesting`` operation in mode ``walk_forward`` with ``in_sample``
false, whoever started it (a research cycle of any designer, a manual ``ktrdr backtest``). The
ledger records one row per such backtest in ``evaluation_trials`` (keyed by the operation id:
never twice) when its job ends, when a research cycle reads its statistics, and at start-up for
any completed one found without its row. A row keeps the data set, its holdout start at the
time, the per-bar stitched Sharpe with its moments, the trade count and the per-bar stitched
out-of-sample returns.

The returns are stored in the row as compressed parquet bytes (bar times and float64 returns):
in the store, they are written in the same transaction as the trial, shared by every process
that reads the store and kept when backtest artifacts are cleaned up; the bar times are what
aligns trials for PBO.

A data set's statistics count only the trials whose holdout start equals the data set's current
one: ``ktrdr data windows reset`` starts them afresh.
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from sqlalchemy import RowMapping, func, select
from sqlalchemy.exc import IntegrityError

from ktrdr.backtesting.ranges import WALK_FORWARD
from ktrdr.data import DataWindow, DataWindows, canonical_symbol, canonical_timeframe
from ktrdr.errors import DataError, NotFoundError
from ktrdr.evaluation.returns import equity_returns, returns_from_parquet, returns_to_parquet
from ktrdr.evaluation.statistics import probability_of_backtest_overfitting, return_moments
from ktrdr.operations import Operation, OperationsService, OperationStatus, OperationType
from ktrdr.operations.database import read_connection, write_transaction
from ktrdr.operations.schema import evaluation_trials as table

logger = logging.getLogger(__name__)

PBO_MIN_TRIALS = 8  # DESIGN §11: PBO over a data set's trials once it has at least 8
PBO_SPLITS = 16  # CSCV blocks (C(16, 8) = 12,870 splits)
PBO_MIN_BARS = 4 * PBO_SPLITS  # common bars needed: at least 4 bars a block
_PAGE = 1000


@dataclass(frozen=True)
class Trial:
    """One recorded walk-forward evaluation; ``sharpe`` is per bar, None for a flat curve."""

    operation_id: str
    symbol: str
    timeframe: str
    holdout_start: pd.Timestamp
    completed_at: pd.Timestamp
    strategy_name: str
    model_path: str
    sharpe: float | None
    n_obs: int
    skew: float | None
    kurtosis: float | None
    trades: int

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready fields (times as ISO 8601 strings), as ``GET /trials`` lists them."""
        return {
            **{name: getattr(self, name) for name in _TRIAL_FIELDS},
            "holdout_start": self.holdout_start.isoformat(),
            "completed_at": self.completed_at.isoformat(),
        }


@dataclass(frozen=True)
class DataSetTrials:
    """A data set's trial statistics at its current holdout: N, V and PBO.

    ``sharpe_variance`` is the sample variance (ddof 1) of the trials' per-bar Sharpe ratios
    (flat curves left out), None under two of them. ``pbo`` is None under ``PBO_MIN_TRIALS``
    trials or ``PBO_MIN_BARS`` bars that every trial traded.
    """

    symbol: str
    timeframe: str
    holdout_start: pd.Timestamp
    n_trials: int
    sharpe_variance: float | None
    pbo: float | None

    def to_dict(self) -> dict[str, Any]:
        """The ``GET /data/windows`` fields: ``n_trials``, ``trials_sharpe_variance``, ``pbo``."""
        return {
            "n_trials": self.n_trials,
            "trials_sharpe_variance": self.sharpe_variance,
            "pbo": self.pbo,
        }


def is_trial(operation: Operation) -> bool:
    """Whether a backtest operation is a completed out-of-sample walk-forward evaluation."""
    summary = operation.result_summary or {}
    return (
        operation.operation_type is OperationType.BACKTESTING
        and operation.status is OperationStatus.COMPLETED
        and summary.get("mode") == WALK_FORWARD
        and summary.get("in_sample") is False
    )


class TrialLedger:
    """Records trials in the store and answers a data set's N, V and PBO."""

    def __init__(self, operations: OperationsService, windows: DataWindows) -> None:
        self.operations = operations
        self.windows = windows
        self.engine = operations.store.engine
        self._pbo_cache: dict[tuple[str, str, pd.Timestamp, int], float | None] = {}
        self._pbo_lock = threading.Lock()

    def record(self, operation_id: str) -> Trial | None:
        """Record the backtest ``operation_id`` if it is a trial (idempotent); its trial or None.

        A DataError names the missing equity file of a trial that cannot be recorded.
        """
        operation = self.operations.get(operation_id)
        if not is_trial(operation):
            return None
        stored = self._row(operation_id)
        if stored is None:
            stored = self._insert(operation)
        return _trial(stored)

    def on_job_ended(self, operation_id: str) -> None:
        """The executor's job-ended listener: record the job's trial, if it is one."""
        try:
            trial = self.record(operation_id)
        except (DataError, NotFoundError) as exc:
            logger.error("operation %s: trial not recorded: %s", operation_id, exc)
            return
        if trial is not None:
            logger.info(
                "operation %s: trial of %s on %s %s recorded",
                operation_id,
                trial.strategy_name,
                trial.symbol,
                trial.timeframe,
            )

    def record_missing(self) -> list[str]:
        """Record every completed walk-forward backtest that has no trial row (at start-up)."""
        with read_connection(self.engine) as conn:
            known = set(conn.execute(select(table.c.operation_id)).scalars())
        recorded = []
        offset = 0
        while True:
            page = self.operations.list(
                operation_type=OperationType.BACKTESTING,
                status=OperationStatus.COMPLETED,
                limit=_PAGE,
                offset=offset,
            )
            for operation in page.items:
                if operation.operation_id in known or not is_trial(operation):
                    continue
                try:
                    self._insert(operation)
                except DataError as exc:
                    logger.error(
                        "operation %s: trial not recorded: %s", operation.operation_id, exc
                    )
                    continue
                recorded.append(operation.operation_id)
            offset += len(page.items)
            if not page.items or offset >= page.total_count:
                break
        if recorded:
            logger.info("recorded %d trials missing from the ledger", len(recorded))
        return recorded

    def trial(self, operation_id: str) -> Trial:
        """The recorded trial of a backtest; NotFoundError when it has none."""
        row = self._row(operation_id)
        if row is None:
            raise NotFoundError(
                f"operation {operation_id} has no recorded trial (not a completed out-of-sample "
                "walk-forward backtest)",
                details={"operation_id": operation_id},
            )
        return _trial(row)

    def returns(self, operation_id: str) -> pd.Series:
        """The per-bar stitched out-of-sample returns of a trial, indexed by bar time."""
        with read_connection(self.engine) as conn:
            blob = conn.execute(
                select(table.c.returns).where(table.c.operation_id == operation_id)
            ).scalar_one_or_none()
        if blob is None:
            raise NotFoundError(
                f"operation {operation_id} has no recorded trial",
                details={"operation_id": operation_id},
            )
        return returns_from_parquet(blob)

    def trials(
        self, symbol: str, timeframe: str, holdout_start: pd.Timestamp | None = None
    ) -> list[Trial]:
        """A data set's trials at ``holdout_start`` (default: its current one), oldest first."""
        symbol, timeframe = canonical_symbol(symbol), canonical_timeframe(timeframe)
        start = holdout_start or self.windows.get(symbol, timeframe).holdout_start
        with read_connection(self.engine) as conn:
            rows = conn.execute(
                select(*_TRIAL_COLUMNS)
                .where(*_data_set(symbol, timeframe, start))
                .order_by(table.c.completed_at, table.c.operation_id)
            ).mappings()
            return [_trial(row) for row in rows]

    def page(
        self,
        symbol: str | None = None,
        timeframe: str | None = None,
        *,
        limit: int = 100,
        offset: int = 0,
    ) -> tuple[list[Trial], int]:
        """Recorded trials newest first (of one symbol and/or timeframe, at any holdout start),
        one page of them and the count of every match."""
        where = []
        if symbol is not None:
            where.append(table.c.symbol == canonical_symbol(symbol))
        if timeframe is not None:
            where.append(table.c.timeframe == canonical_timeframe(timeframe))
        query = (
            select(*_TRIAL_COLUMNS)
            .where(*where)
            .order_by(table.c.completed_at.desc(), table.c.operation_id.desc())
            .limit(limit)
            .offset(offset)
        )
        with read_connection(self.engine) as conn:
            total = conn.execute(select(func.count()).select_from(table).where(*where))
            count = int(total.scalar_one())
            return [_trial(row) for row in conn.execute(query).mappings()], count

    def data_set(
        self, symbol: str, timeframe: str, holdout_start: pd.Timestamp | None = None
    ) -> DataSetTrials:
        """N, V and PBO of a data set's trials at ``holdout_start`` (default: the current one)."""
        symbol, timeframe = canonical_symbol(symbol), canonical_timeframe(timeframe)
        start = holdout_start or self.windows.get(symbol, timeframe).holdout_start
        trials = self.trials(symbol, timeframe, start)
        sharpes = [trial.sharpe for trial in trials if trial.sharpe is not None]
        variance = float(np.var(sharpes, ddof=1)) if len(sharpes) >= 2 else None
        return DataSetTrials(
            symbol=symbol,
            timeframe=timeframe,
            holdout_start=start,
            n_trials=len(trials),
            sharpe_variance=variance,
            pbo=self._pbo(symbol, timeframe, start, len(trials)),
        )

    def _pbo(self, symbol: str, timeframe: str, start: pd.Timestamp, count: int) -> float | None:
        """PBO of the data set's trials on the bars all of them traded; cached per trial count
        (rows are only ever added, so the count names the set)."""
        if count < PBO_MIN_TRIALS:
            return None
        key = (symbol, timeframe, start, count)
        with self._pbo_lock:
            if key in self._pbo_cache:
                return self._pbo_cache[key]
        with read_connection(self.engine) as conn:
            rows = conn.execute(
                select(table.c.operation_id, table.c.returns)
                .where(*_data_set(symbol, timeframe, start))
                .order_by(table.c.completed_at, table.c.operation_id)
                .limit(count)
            ).all()
        pbo = pbo_on_common_bars([returns_from_parquet(blob) for _, blob in rows])
        with self._pbo_lock:
            self._pbo_cache[key] = pbo
        return pbo

    def _row(self, operation_id: str) -> RowMapping | None:
        with read_connection(self.engine) as conn:
            query = select(*_TRIAL_COLUMNS).where(table.c.operation_id == operation_id)
            return conn.execute(query).mappings().first()

    def _insert(self, operation: Operation) -> RowMapping:
        """Write the trial of a completed walk-forward backtest; a concurrent write wins."""
        symbol = canonical_symbol(str(operation.metadata.symbol))
        timeframe = canonical_timeframe(str(operation.metadata.timeframe))
        values = _trial_values(operation, self.windows.get(symbol, timeframe))
        try:
            with write_transaction(self.engine) as conn:
                conn.execute(table.insert().values(**values))
        except IntegrityError:
            pass  # recorded meanwhile by another listener: that row stands
        row = self._row(operation.operation_id)
        assert row is not None  # inserted above, by this call or a concurrent one
        return row


def pbo_on_common_bars(returns: list[pd.Series]) -> float | None:
    """PBO (CSCV, ``PBO_SPLITS`` blocks) of trials aligned on the bars every one of them traded.

    Trials of one data set trade the same bar times, but their out-of-sample spans differ with
    their fold plans and warm-ups: the matrix keeps the bar times common to all (an inner join on
    bar time), oldest first. None under ``PBO_MIN_TRIALS`` trials or ``PBO_MIN_BARS`` common bars.
    """
    if len(returns) < PBO_MIN_TRIALS:
        return None
    aligned = pd.concat(
        [series.rename(number) for number, series in enumerate(returns)], axis=1, join="inner"
    ).sort_index()
    if len(aligned) < PBO_MIN_BARS:
        return None
    return probability_of_backtest_overfitting(aligned.to_numpy(), n_splits=PBO_SPLITS)


def _trial_values(operation: Operation, window: DataWindow) -> dict[str, Any]:
    summary = operation.result_summary or {}
    parameters = operation.metadata.parameters
    symbol, timeframe = window.symbol, window.timeframe
    holdout_start = _holdout_at_start(operation, window)
    returns = equity_returns(
        (summary.get("artifacts") or {}).get("equity"),
        owner=f"walk-forward backtest {operation.operation_id}",
        purpose="its trial record",
    )
    moments = return_moments(returns.to_numpy())
    completed = operation.completed_at or dt.datetime.now(dt.UTC)
    return {
        "operation_id": operation.operation_id,
        "symbol": symbol,
        "timeframe": timeframe,
        "holdout_start": holdout_start.to_pydatetime(),
        "completed_at": completed,
        "strategy_name": str(parameters.get("strategy_name") or ""),
        "model_path": str(parameters.get("model_path") or ""),
        "sharpe": moments.sharpe if moments else None,
        "n_obs": moments.n_obs if moments else int(np.isfinite(returns.to_numpy()).sum()),
        "skew": moments.skew if moments else None,
        "kurtosis": moments.kurtosis if moments else None,
        "trades": int(_metric(summary, "total_trades") or 0),
        "returns": returns_to_parquet(returns),
    }


def _holdout_at_start(operation: Operation, window: DataWindow) -> pd.Timestamp:
    """The data set's holdout start when the backtest was started.

    The window now, unless it was frozen again (reset) after the backtest was created; then the
    holdout the backtest itself used (its ``holdout_start`` parameter, which is the earliest of
    its strategy's timeframes), so that a trial of an older window never counts at the new one.
    """
    if _utc(operation.created_at) >= window.frozen_at:
        return window.holdout_start
    used = operation.metadata.parameters.get("holdout_start")
    if not used:
        raise DataError(
            f"walk-forward backtest {operation.operation_id} ran before its data set's window was "
            "last reset and has no holdout_start parameter: its window is unknown"
        )
    return _utc(pd.Timestamp(used))


def _metric(summary: Mapping[str, Any], name: str) -> float | None:
    value = (summary.get("metrics") or {}).get(name)
    return float(value) if isinstance(value, int | float) else None


_TRIAL_COLUMNS = tuple(column for column in table.c if column.name != "returns")
_TRIAL_FIELDS = tuple(column.name for column in _TRIAL_COLUMNS)


def _data_set(symbol: str, timeframe: str, holdout_start: pd.Timestamp) -> tuple[Any, ...]:
    return (
        table.c.symbol == symbol,
        table.c.timeframe == timeframe,
        table.c.holdout_start == holdout_start.to_pydatetime(),
    )


def _utc(value: dt.datetime) -> pd.Timestamp:
    stamp = pd.Timestamp(value)
    return stamp.tz_localize("UTC") if stamp.tzinfo is None else stamp.tz_convert("UTC")


def _trial(row: RowMapping) -> Trial:
    return Trial(
        operation_id=row["operation_id"],
        symbol=row["symbol"],
        timeframe=row["timeframe"],
        holdout_start=_utc(row["holdout_start"]),
        completed_at=_utc(row["completed_at"]),
        strategy_name=row["strategy_name"],
        model_path=row["model_path"],
        sharpe=row["sharpe"],
        n_obs=int(row["n_obs"]),
        skew=row["skew"],
        kurtosis=row["kurtosis"],
        trades=int(row["trades"]),
    )
