"""Counted looks at the sealed holdout (DESIGN §11): one look per model, its result kept.

``evaluate`` records and counts the look in ``holdout_evaluations`` (one row per final model
and holdout: keyed by its bundle folder and the data set's holdout start, so a reset holdout is
a new look) and then starts a ``holdout`` backtest of the model. The row keeps the backtest's
operation id; the result (verdict, metrics, look count) is filled from the completed operation
the first time the row is read after it ends, so it survives a server restart. Evaluating the
same model again returns the stored row: no new look.
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
from pathlib import Path
from typing import Any

import pandas as pd
from sqlalchemy import RowMapping, null, select, update

from ktrdr.backtesting.ranges import HOLDOUT, TrainedModel
from ktrdr.backtesting.service import BacktestingService
from ktrdr.data import DataWindows
from ktrdr.errors import DataError, NotFoundError, ValidationError
from ktrdr.evaluation.returns import equity_returns
from ktrdr.evaluation.verdicts import holdout_psr, holdout_verdict
from ktrdr.operations import Operation, OperationsService, OperationStatus
from ktrdr.operations.database import read_connection, write_transaction
from ktrdr.operations.schema import holdout_evaluations as table

logger = logging.getLogger(__name__)

# A look whose backtest never completed revealed nothing; evaluating again reruns it, same look.
RERUN_STATUSES = (OperationStatus.FAILED, OperationStatus.CANCELLED)


class HoldoutService:
    """Evaluate final models on the sealed holdout, once each, counting every look."""

    def __init__(
        self,
        operations: OperationsService,
        backtesting: BacktestingService,
        windows: DataWindows,
    ) -> None:
        self.operations = operations
        self.backtesting = backtesting
        self.windows = windows
        self.engine = windows.engine
        self._looking = threading.Lock()

    def evaluate(
        self, model_path: str | Path, *, parent_operation_id: str | None = None
    ) -> dict[str, Any]:
        """The holdout evaluation of a model: the stored one, else a new look started now.

        ``model_path`` is a final bundle folder or a strategy name (its newest model), as for a
        backtest; a fold bundle is refused (only the final model meets the holdout). The look
        is recorded and counted in one transaction before its backtest starts, and taken back if
        the backtest cannot start. The returned row has ``status`` (the backtest operation's)
        and ``result`` (None until the backtest completes; poll ``evaluation``).
        """
        return self.look(model_path, parent_operation_id=parent_operation_id)[0]

    def look(
        self, model_path: str | Path, *, parent_operation_id: str | None = None
    ) -> tuple[dict[str, Any], bool]:
        """:meth:`evaluate`, and whether this call started a backtest: a new look, or the rerun
        of one that never completed. Its backtest may have completed already: a short one can
        finish before the row is read back."""
        bundle = self.backtesting.resolve_model_path(model_path)
        model = TrainedModel.read(bundle)
        _refuse_fold_bundle(model)
        key, holdout_start = self._key(bundle), self._holdout_start(model)
        with self._looking:  # one server per store: this serialises every look
            row = self._row(key, holdout_start)
            if row is not None and self._status(row["operation_id"]) not in RERUN_STATUSES:
                return self._evaluation(row), False
            if row is None:
                self._record_look(key, holdout_start, model)
            try:
                started = self.backtesting.start_backtest(
                    bundle, mode=HOLDOUT, parent_operation_id=parent_operation_id
                )
            except BaseException:
                if row is None:
                    self._take_back_look(key, holdout_start, model)
                raise
            self._started(key, holdout_start, started["operation_id"])
            row = self._row(key, holdout_start)
        assert row is not None  # recorded above
        return self._evaluation(row), True

    def evaluation(self, model_path: str | Path) -> dict[str, Any]:
        """The stored holdout evaluation of a model on its data set's current holdout;
        NotFoundError if it never met it."""
        bundle = self.backtesting.resolve_model_path(model_path)
        row = self._row(self._key(bundle), self._holdout_start(TrainedModel.read(bundle)))
        if row is None:
            raise NotFoundError(
                f"model {model_path}: no holdout evaluation; run `ktrdr holdout evaluate`",
                details={"model": str(model_path)},
            )
        return self._evaluation(row)

    def list(self) -> list[dict[str, Any]]:
        """Every holdout evaluation, newest first."""
        with read_connection(self.engine) as conn:
            rows = conn.execute(select(table).order_by(table.c.created_at.desc())).mappings()
            rows = list(rows)
        return [self._evaluation(row) for row in rows]

    def _key(self, bundle: Path) -> str:
        home = self.backtesting.settings.home.resolve()
        resolved = bundle.resolve()
        return (
            resolved.relative_to(home).as_posix()
            if resolved.is_relative_to(home)
            else resolved.as_posix()
        )

    def _holdout_start(self, model: TrainedModel) -> pd.Timestamp:
        """The holdout the model's backtest would meet (as ``start_backtest`` works it out): the
        earliest of its symbols' data sets' when it trades several as a portfolio."""
        return self.windows.holdout_start(model.symbols, model.strategy.timeframes())

    def _where(self, key: str, holdout_start: pd.Timestamp) -> tuple[Any, ...]:
        return (table.c.model_path == key, table.c.holdout_start == holdout_start)

    def _row(self, key: str, holdout_start: pd.Timestamp) -> RowMapping | None:
        with read_connection(self.engine) as conn:
            query = select(table).where(*self._where(key, holdout_start))
            return conn.execute(query).mappings().first()

    def _record_look(self, key: str, holdout_start: pd.Timestamp, model: TrainedModel) -> None:
        """Insert the look's row and count it on every data set it sees, in one transaction.

        A portfolio's look is counted on each of its symbols' holdouts; the row keeps the first
        symbol and the most looks any of them has had."""
        symbol, timeframe = model.symbols[0], model.strategy.base_timeframe()
        with write_transaction(self.engine) as conn:
            look = max(
                self.windows.count_look(name, timeframe, conn=conn) for name in model.symbols
            )
            conn.execute(
                table.insert().values(
                    model_path=key,
                    holdout_start=holdout_start.to_pydatetime(),
                    created_at=dt.datetime.now(dt.UTC),
                    strategy_name=model.strategy.name,
                    symbol=symbol,
                    timeframe=timeframe,
                    operation_id=None,
                    look=look,
                    result=null(),  # SQL NULL: a JSON None would be the text 'null'
                )
            )
        logger.warning(
            "holdout look %d at %s %s: model %s", look, ", ".join(model.symbols), timeframe, key
        )

    def _take_back_look(self, key: str, holdout_start: pd.Timestamp, model: TrainedModel) -> None:
        """Remove a look whose backtest could not start: nothing was seen."""
        timeframe = model.strategy.base_timeframe()
        with write_transaction(self.engine) as conn:
            conn.execute(table.delete().where(*self._where(key, holdout_start)))
            for name in model.symbols:
                self.windows.count_look(name, timeframe, conn=conn, by=-1)

    def _started(self, key: str, holdout_start: pd.Timestamp, operation_id: str) -> None:
        with write_transaction(self.engine) as conn:
            conn.execute(
                update(table)
                .where(*self._where(key, holdout_start))
                .values(operation_id=operation_id, result=null())
            )
        logger.info("holdout evaluation of %s runs as backtest %s", key, operation_id)

    def _status(self, operation_id: str | None) -> OperationStatus:
        """The look's backtest status; FAILED for one lost or never started (a crash)."""
        operation = self._operation(operation_id)
        return operation.status if operation is not None else OperationStatus.FAILED

    def _operation(self, operation_id: str | None) -> Operation | None:
        if operation_id is None:
            return None
        try:
            return self.operations.get(operation_id)
        except NotFoundError:
            return None

    def _evaluation(self, row: RowMapping) -> dict[str, Any]:
        result = row["result"]
        operation = self._operation(row["operation_id"])
        error = operation.error_message if operation is not None else None
        if (
            result is None
            and operation is not None
            and operation.status is OperationStatus.COMPLETED
        ):
            try:
                result = holdout_result(operation.result_summary or {}, int(row["look"]))
            except DataError as exc:
                error = exc.message  # not stored: a later read tries again
            else:
                self._store(row["model_path"], row["holdout_start"], result)
        status = operation.status.value if operation is not None else "lost"
        created = pd.Timestamp(row["created_at"])
        created = created.tz_localize("UTC") if created.tz is None else created
        return {
            "model_path": row["model_path"],
            "strategy_name": row["strategy_name"],
            "symbol": row["symbol"],
            "timeframe": row["timeframe"],
            "operation_id": row["operation_id"],
            "look": int(row["look"]),
            "created_at": created.isoformat(),
            "status": "completed" if result is not None else status,
            "error": error,
            "result": result,
        }

    def _store(self, key: str, holdout_start: dt.datetime, result: dict[str, Any]) -> None:
        with write_transaction(self.engine) as conn:
            conn.execute(
                update(table)
                .where(*self._where(key, holdout_start), table.c.result.is_(None))
                .values(result=result)
            )


def _refuse_fold_bundle(model: TrainedModel) -> None:
    """Only a final model meets the holdout: a fold's look would be an extra, hidden one."""
    if "fold" in model.metadata:
        raise ValidationError(
            f"model {model.path} is walk-forward fold {model.metadata['fold']} of a model; only "
            f"the final model meets the holdout: evaluate {model.path.parent.parent}",
            details={"model": str(model.path)},
        )


def holdout_result(summary: dict[str, Any], look: int) -> dict[str, Any]:
    """The stored result of a completed holdout backtest: verdict, reason, PSR, metrics, looks."""
    metrics = summary.get("metrics") or {}
    path = (summary.get("artifacts") or {}).get("equity")
    returns = equity_returns(path, owner="the holdout backtest", purpose="its verdict")
    psr = holdout_psr(returns.to_numpy())
    verdict, reason = holdout_verdict(metrics, psr)
    return {
        "verdict": verdict,
        "reason": reason,
        "psr": psr,
        "metrics": metrics,
        "start_date": summary.get("start_date"),
        "end_date": summary.get("end_date"),
        "bars": summary.get("bars"),
        "looks": look,
        "artifacts": summary.get("artifacts") or {},
    }
