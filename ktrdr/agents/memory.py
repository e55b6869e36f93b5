"""The experiment memory: every finished research cycle, stored so the next design is better.

One row per research operation (its id is the ``experiment_id``) in the ``experiments`` table of
the ktrdr database (SQLite or PostgreSQL; created by migration ``0002_experiments``). Designers
read it through :meth:`ExperimentMemory.list` with ``protocol=WALK_FORWARD`` and rank it with
:func:`experiment_score`.

Each row names the ``protocol`` its metrics were measured under: ``walk_forward`` (the research
window's out-of-sample folds, DESIGN §11) for every row recorded now, ``single_window`` for rows
recorded before the evaluation protocol (migration 0005 marks them). Those old rows stay in the
table and in the history, but no designer scores or reads them: their one window was reused by
every design, so its numbers are in-sample. No row holds a holdout result (DESIGN §11 Verdicts);
:func:`summarize_experiments` copies a fixed list of fields, so nothing else can reach a prompt.
"""

from __future__ import annotations

import logging
import math
import numbers
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, fields
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import JSON, Engine, RowMapping, delete, func, insert, select

from ktrdr.errors import NotFoundError, StrategyValidationError, ValidationError
from ktrdr.operations.database import read_connection, write_transaction
from ktrdr.operations.schema import experiments as table
from ktrdr.strategy import validate_strategy

logger = logging.getLogger(__name__)

EXPERIMENT_STATUSES = ("completed", "gate_failed", "failed", "cancelled")
WALK_FORWARD = "walk_forward"
SINGLE_WINDOW = "single_window"
PROTOCOLS = (WALK_FORWARD, SINGLE_WINDOW)
SCORED_STATUSES = frozenset({"completed", "gate_failed", "failed"})
MAX_PAGE_SIZE = 1000

VERDICT_BONUS = {"promising": 1.0, "neutral": 0.0, "poor": -0.5}
SHARPE_CLIP = 5.0
BACKTEST_GATE_FAILED_BASE = -5.75
TRAINING_GATE_FAILED_BASE = -7.0
FAILED_SCORE = -8.0


@dataclass(frozen=True)
class ExperimentRecord:
    """One research cycle's outcome: the strategy tried, its metrics, gates and verdict.

    ``training_metrics`` holds the training ``test_metrics`` (``test_accuracy``, ``test_loss`` ...)
    either flat or under ``"test_metrics"``; ``backtest_metrics`` the backtest ``metrics``
    (``sharpe_ratio`` ...) either flat or under ``"metrics"``. ``gates`` is
    ``{"training": {"passed": bool, "reason": str}, "backtest": {...}}``; ``design`` is the
    designer's private information, e.g. ``{"study": "offline", "trial_number": 12}``.
    ``protocol`` is how the metrics were measured: ``walk_forward`` or, for rows recorded before
    the evaluation protocol, ``single_window`` (never scored). ``statistics`` is the cycle's
    research-window statistics (DESIGN §11: n_trials, psr, dsr, pbo ...), None before the backtest.
    """

    experiment_id: str
    created_at: datetime
    strategy_name: str
    designer: str
    status: str
    strategy: dict[str, Any] = field(default_factory=dict)
    design: dict[str, Any] = field(default_factory=dict)
    training_metrics: dict[str, Any] | None = None
    backtest_metrics: dict[str, Any] | None = None
    gates: dict[str, Any] = field(default_factory=dict)
    verdict: str | None = None
    error: str | None = None
    protocol: str = WALK_FORWARD
    statistics: dict[str, Any] | None = None

    def __post_init__(self) -> None:
        if self.status not in EXPERIMENT_STATUSES:
            raise ValidationError(
                f"experiment status {self.status!r} is not one of {', '.join(EXPERIMENT_STATUSES)}"
            )
        if self.protocol not in PROTOCOLS:
            raise ValidationError(
                f"experiment protocol {self.protocol!r} is not one of {', '.join(PROTOCOLS)}"
            )
        if self.created_at.tzinfo is None:
            raise ValidationError(
                f"experiment {self.experiment_id!r}: created_at must be timezone-aware (UTC)"
            )

    def researched(self, symbol: str, timeframe: str) -> bool:
        """Whether this experiment's strategy traded exactly ``symbol`` at base ``timeframe``."""
        try:
            strategy = validate_strategy(self.strategy, source=f"experiment {self.experiment_id}")
        except StrategyValidationError:
            return False  # not designed, or a strategy this version no longer reads
        return strategy.symbols() == [symbol] and strategy.base_timeframe() == timeframe


class ExperimentMemory:
    """Reads and writes experiment records on a migrated ktrdr database ``engine``."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def record(self, record: ExperimentRecord) -> ExperimentRecord:
        """Insert the record, or replace the one with the same ``experiment_id``."""
        with write_transaction(self.engine) as conn:
            # Replace whole: one statement writes the columns, whether the row existed or not.
            conn.execute(delete(table).where(table.c.experiment_id == record.experiment_id))
            conn.execute(insert(table).values(**_to_row(record)))
        logger.info(
            "experiment %s recorded: %s %s",
            record.experiment_id,
            record.strategy_name,
            record.status,
        )
        return record

    def list(
        self, limit: int = 100, offset: int = 0, *, protocol: str | None = None
    ) -> list[ExperimentRecord]:
        """Records newest first, e.g. ``list(limit=20, protocol=WALK_FORWARD)`` for a designer.

        ``protocol`` None lists every row (the history); a designer asks for ``walk_forward``.
        """
        if not 1 <= limit <= MAX_PAGE_SIZE:
            raise ValidationError(f"limit must be between 1 and {MAX_PAGE_SIZE}, got {limit}")
        if offset < 0:
            raise ValidationError(f"offset must be >= 0, got {offset}")
        query = (
            select(table)
            .where(*_protocol_filter(protocol))
            .order_by(table.c.created_at.desc(), table.c.experiment_id.desc())
            .limit(limit)
            .offset(offset)
        )
        with read_connection(self.engine) as conn:
            return [_from_row(row) for row in conn.execute(query).mappings()]

    def count(self, *, protocol: str | None = None) -> int:
        """How many experiments are recorded (of ``protocol``, when given)."""
        query = select(func.count()).select_from(table).where(*_protocol_filter(protocol))
        with read_connection(self.engine) as conn:
            return int(conn.execute(query).scalar_one())

    def get(self, experiment_id: str) -> ExperimentRecord:
        """The record with this id; ``NotFoundError`` if there is none."""
        with read_connection(self.engine) as conn:
            row = (
                conn.execute(select(table).where(table.c.experiment_id == experiment_id))
                .mappings()
                .first()
            )
        if row is None:
            raise NotFoundError(
                f"experiment {experiment_id!r} not found", details={"experiment_id": experiment_id}
            )
        return _from_row(row)


def experiment_score(record: ExperimentRecord) -> float | None:
    """The one number designers maximise; None for an unfinished (cancelled) experiment.

    Bands never overlap, so any completed cycle outranks any gate failure:

    - completed: backtest Sharpe clipped to [-5, 5] plus the verdict bonus (promising +1.0,
      neutral 0, poor -0.5): Sharpe 1.2 and promising -> 2.2; range [-5.5, 6.0].
    - backtest gate failed: -5.75 + clipped Sharpe / 20: Sharpe -0.8 -> -5.79; range [-6.0, -5.5].
    - training gate failed: -7.0 + test accuracy: accuracy 0.38 -> -6.62; range [-7.0, -6.0].
    - failed (the design did not train or the backtest broke): -8.0.

    A metric the band needs but the record lacks counts as the band's floor. A ``single_window``
    record (measured before the evaluation protocol) has no score: None.
    """
    if record.status not in SCORED_STATUSES or record.protocol != WALK_FORWARD:
        return None
    if record.status == "failed":
        return FAILED_SCORE
    sharpe = _metric(record.backtest_metrics, "metrics", "sharpe_ratio")
    clipped = -SHARPE_CLIP if sharpe is None else max(-SHARPE_CLIP, min(SHARPE_CLIP, sharpe))
    if record.status == "completed":
        return clipped + VERDICT_BONUS.get(record.verdict or "", 0.0)
    if _failed_gate(record) == "training":
        accuracy = _metric(record.training_metrics, "test_metrics", "test_accuracy")
        accuracy = 0.0 if accuracy is None else max(0.0, min(1.0, accuracy))
        return TRAINING_GATE_FAILED_BASE + accuracy
    return BACKTEST_GATE_FAILED_BASE + clipped / 20


def summarize_experiments(records: Iterable[ExperimentRecord], limit: int = 20) -> list[dict]:
    """Compact rows (name, status, protocol, score, key metrics, gate reasons, verdict).

    At most ``limit`` rows. Only these named fields are copied (the metrics from a fixed list), so
    nothing else a record might carry — e.g. a holdout block — reaches a history or a prompt.
    """
    rows = []
    for record in records:
        if len(rows) >= limit:
            break
        score = experiment_score(record)
        rows.append(
            {
                "experiment_id": record.experiment_id,
                "created_at": record.created_at.isoformat(),
                "strategy_name": record.strategy_name,
                "designer": record.designer,
                "status": record.status,
                "protocol": record.protocol,
                "score": None if score is None else round(score, 3),
                **_key_metrics(record),
                "gates": {
                    gate: outcome.get("reason")
                    for gate, outcome in record.gates.items()
                    if isinstance(outcome, Mapping)
                },
                "verdict": record.verdict,
                "error": record.error,
            }
        )
    return rows


_TRAINING_KEYS = ("test_accuracy", "test_loss", "f1")
_BACKTEST_KEYS = ("sharpe_ratio", "total_return", "win_rate", "max_drawdown", "total_trades")


def _key_metrics(record: ExperimentRecord) -> dict[str, float | None]:
    values = {key: _metric(record.training_metrics, "test_metrics", key) for key in _TRAINING_KEYS}
    values.update({key: _metric(record.backtest_metrics, "metrics", key) for key in _BACKTEST_KEYS})
    return {key: None if value is None else round(value, 4) for key, value in values.items()}


def _protocol_filter(protocol: str | None) -> tuple[Any, ...]:
    if protocol is None:
        return ()
    if protocol not in PROTOCOLS:
        raise ValidationError(f"protocol {protocol!r} is not one of {', '.join(PROTOCOLS)}")
    return (table.c.protocol == protocol,)


def _failed_gate(record: ExperimentRecord) -> str:
    training = record.gates.get("training")
    training_failed = isinstance(training, Mapping) and training.get("passed") is False
    return "training" if training_failed or record.backtest_metrics is None else "backtest"


def _metric(metrics: Mapping[str, Any] | None, nested: str, name: str) -> float | None:
    if not metrics:
        return None
    value = metrics.get(name)
    if value is None and isinstance(metrics.get(nested), Mapping):
        value = metrics[nested].get(name)
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        return None
    return float(value) if math.isfinite(value) else None


def _plain_json(value: Any) -> Any:
    # PostgreSQL's JSON type rejects NaN and Infinity: store them as null.
    if isinstance(value, Mapping):
        return {str(key): _plain_json(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_plain_json(item) for item in value]
    if isinstance(value, bool | str) or value is None:
        return value
    if isinstance(value, numbers.Integral):
        return int(value)
    if isinstance(value, numbers.Real):
        return float(value) if math.isfinite(value) else None
    return str(value)


_FIELDS = tuple(f.name for f in fields(ExperimentRecord))  # each one is a column of the table
_JSON_FIELDS = frozenset(name for name in _FIELDS if isinstance(table.c[name].type, JSON))


def _to_row(record: ExperimentRecord) -> dict[str, Any]:
    row = {name: getattr(record, name) for name in _FIELDS}
    row.update({name: _plain_json(row[name]) for name in _JSON_FIELDS})
    return row | {"created_at": record.created_at.astimezone(UTC), "updated_at": datetime.now(UTC)}


def _from_row(row: RowMapping) -> ExperimentRecord:
    created_at = row["created_at"]
    if created_at.tzinfo is None:
        created_at = created_at.replace(tzinfo=UTC)  # SQLite hands back naive UTC datetimes
    return ExperimentRecord(**({name: row[name] for name in _FIELDS} | {"created_at": created_at}))
