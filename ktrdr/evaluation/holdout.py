"""Counted looks at the sealed holdout (DESIGN §11): one look per model, its result kept.

``evaluate`` starts a ``holdout`` backtest of a model's final bundle and records the look in
``holdout_evaluations`` (one row per model, keyed by its bundle folder). The row keeps the
backtest's operation id; the result (verdict, metrics, look count) is filled from the completed
operation the first time the row is read after it ends, so it survives a server restart.
Evaluating the same model again returns the stored row: no new look.
"""

from __future__ import annotations

import datetime as dt
import logging
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from sqlalchemy import RowMapping, null, select, update
from sqlalchemy.exc import IntegrityError

from ktrdr.backtesting.ranges import HOLDOUT, TrainedModel
from ktrdr.backtesting.service import BacktestingService
from ktrdr.data import DataWindows
from ktrdr.errors import NotFoundError
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

    def evaluate(
        self, model_path: str | Path, *, parent_operation_id: str | None = None
    ) -> dict[str, Any]:
        """The holdout evaluation of a model: the stored one, else a new look started now.

        ``model_path`` is a bundle folder or a strategy name (its newest model), as for a
        backtest. The returned row has ``status`` (the backtest operation's) and ``result``
        (None until the backtest completes; poll ``evaluation`` or the operation).
        """
        bundle = self.backtesting.resolve_model_path(model_path)
        key = self._key(bundle)
        row = self._row(key)
        if row is not None and self._status(row["operation_id"]) not in RERUN_STATUSES:
            return self._evaluation(row)
        model = TrainedModel.read(bundle)
        started = self.backtesting.start_backtest(
            bundle, mode=HOLDOUT, parent_operation_id=parent_operation_id
        )
        operation_id = started["operation_id"]
        if row is not None:
            self._rerun(key, operation_id)
        elif not self._insert(key, model, operation_id):
            self.operations.cancel(operation_id, "a concurrent holdout evaluation of this model")
        row = self._row(key)
        assert row is not None  # inserted above, by this call or a concurrent one
        return self._evaluation(row)

    def evaluation(self, model_path: str | Path) -> dict[str, Any]:
        """The stored holdout evaluation of a model; NotFoundError if it never met the holdout."""
        bundle = self.backtesting.resolve_model_path(model_path)
        row = self._row(self._key(bundle))
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

    def _row(self, key: str) -> RowMapping | None:
        with read_connection(self.engine) as conn:
            return conn.execute(select(table).where(table.c.model_path == key)).mappings().first()

    def _insert(self, key: str, model: TrainedModel, operation_id: str) -> bool:
        """Record the look; False when a concurrent call recorded it first."""
        symbol, timeframe = model.symbols[0], model.strategy.base_timeframe()
        try:
            with write_transaction(self.engine) as conn:
                conn.execute(
                    table.insert().values(
                        model_path=key,
                        created_at=dt.datetime.now(dt.UTC),
                        strategy_name=model.strategy.name,
                        symbol=symbol,
                        timeframe=timeframe,
                        operation_id=operation_id,
                        look=0,
                        result=null(),  # SQL NULL: a JSON None would be the text 'null'
                    )
                )
        except IntegrityError:
            return False
        look = self.windows.count_look(symbol, timeframe)
        with write_transaction(self.engine) as conn:
            conn.execute(update(table).where(table.c.model_path == key).values(look=look))
        logger.warning(
            "holdout look %d at %s %s: model %s (backtest %s)",
            look,
            symbol,
            timeframe,
            key,
            operation_id,
        )
        return True

    def _rerun(self, key: str, operation_id: str) -> None:
        with write_transaction(self.engine) as conn:
            conn.execute(
                update(table)
                .where(table.c.model_path == key)
                .values(operation_id=operation_id, result=null())
            )
        logger.info("holdout evaluation of %s rerun as %s (same look)", key, operation_id)

    def _status(self, operation_id: str) -> OperationStatus:
        try:
            return self.operations.get(operation_id).status
        except NotFoundError:
            return OperationStatus.FAILED

    def _evaluation(self, row: RowMapping) -> dict[str, Any]:
        result = row["result"]
        try:
            operation: Operation | None = self.operations.get(row["operation_id"])
        except NotFoundError:
            operation = None
        if (
            result is None
            and operation is not None
            and operation.status is OperationStatus.COMPLETED
        ):
            result = holdout_result(operation.result_summary or {}, int(row["look"]))
            self._store(row["model_path"], result)
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
            "error": operation.error_message if operation is not None else None,
            "result": result,
        }

    def _store(self, key: str, result: dict[str, Any]) -> None:
        with write_transaction(self.engine) as conn:
            conn.execute(
                update(table)
                .where(table.c.model_path == key, table.c.result.is_(None))
                .values(result=result)
            )


def holdout_result(summary: dict[str, Any], look: int) -> dict[str, Any]:
    """The stored result of a completed holdout backtest: verdict, reason, PSR, metrics, looks."""
    metrics = summary.get("metrics") or {}
    returns = _equity_returns((summary.get("artifacts") or {}).get("equity"))
    verdict, reason = holdout_verdict(metrics, returns)
    psr = holdout_psr(returns)
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


def _equity_returns(path: str | None) -> np.ndarray:
    """Per-bar returns of a backtest's equity artifact; empty when it is missing."""
    if not path or not Path(path).is_file():
        return np.empty(0)
    equity = pd.read_parquet(path)["equity"].to_numpy(dtype=np.float64)
    return equity[1:] / equity[:-1] - 1.0 if len(equity) > 1 else np.empty(0)
