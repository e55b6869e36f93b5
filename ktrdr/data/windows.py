"""The research window and sealed holdout of each data set (symbol + timeframe), DESIGN §11.

The holdout is the last ``holdout_fraction`` of a data set's bars, fixed the first time the data
set is used and stored in ``data_windows``; bars appended later fall in the holdout. Nothing but a
holdout evaluation may read bars at or after ``holdout_start``.
"""

from __future__ import annotations

import datetime as dt
import logging
import math
from collections.abc import Iterable
from dataclasses import asdict, dataclass

import pandas as pd
from sqlalchemy import Connection, Engine, RowMapping, select, update
from sqlalchemy.exc import IntegrityError

from ktrdr.data.repository import DataRepository, DateLike, canonical_symbol, to_utc
from ktrdr.data.timeframes import canonical_timeframe
from ktrdr.errors import DataError, NotFoundError, ValidationError
from ktrdr.operations.database import read_connection, write_transaction
from ktrdr.operations.schema import data_windows as table

logger = logging.getLogger(__name__)

# The research window must hold enough bars to train anything at all.
MIN_RESEARCH_BARS = 100


@dataclass(frozen=True)
class DataWindow:
    """One data set's split: research bars before ``holdout_start``, the holdout from it on."""

    symbol: str
    timeframe: str
    research_start: pd.Timestamp
    research_end: pd.Timestamp
    holdout_start: pd.Timestamp
    holdout_end: pd.Timestamp | None
    frozen_at: pd.Timestamp
    holdout_looks: int

    def to_dict(self) -> dict[str, object]:
        """JSON-ready: timestamps as ISO 8601 strings."""
        return {
            key: value.isoformat() if isinstance(value, pd.Timestamp) else value
            for key, value in asdict(self).items()
        }


class DataWindows:
    """Freezes, reads and moves the data windows stored on a migrated ktrdr database."""

    def __init__(self, engine: Engine, data: DataRepository, *, holdout_fraction: float) -> None:
        if not 0 < holdout_fraction < 1:
            raise ValidationError(f"holdout_fraction must be in (0, 1), got {holdout_fraction}")
        self.engine = engine
        self.data = data
        self.holdout_fraction = holdout_fraction

    def get(self, symbol: str, timeframe: str) -> DataWindow:
        """The window of a data set, frozen now from its bars if this is its first use."""
        symbol, timeframe = canonical_symbol(symbol), canonical_timeframe(timeframe)
        row = self._row(symbol, timeframe)
        if row is None:
            self._freeze(symbol, timeframe)
            row = self._row(symbol, timeframe)
        assert row is not None  # frozen above, by this call or a concurrent one
        return self._window(row)

    def holdout_start(self, symbols: Iterable[str], timeframes: Iterable[str]) -> pd.Timestamp:
        """The earliest holdout start of the data sets a strategy uses (DESIGN §11)."""
        return min(self.get(s, tf).holdout_start for s in symbols for tf in timeframes)

    def list(self) -> list[DataWindow]:
        """Every frozen window, by symbol then timeframe."""
        with read_connection(self.engine) as conn:
            rows = conn.execute(select(table).order_by(table.c.symbol, table.c.timeframe))
            return [self._window(row) for row in rows.mappings()]

    def reset(self, symbol: str, timeframe: str, holdout_start: DateLike) -> DataWindow:
        """Move a data set's holdout to start at the first bar at or after ``holdout_start``.

        The look count starts afresh: the new holdout has not been looked at as a holdout.
        """
        symbol, timeframe = canonical_symbol(symbol), canonical_timeframe(timeframe)
        index = self.data.load(symbol, timeframe).index
        wanted = to_utc(holdout_start, "holdout_start")
        position = int(index.searchsorted(wanted, "left"))
        if position < MIN_RESEARCH_BARS or position >= len(index):
            raise ValidationError(
                f"holdout start {wanted.isoformat()} for {symbol} {timeframe}: the data covers "
                f"{index[0].isoformat()} to {index[-1].isoformat()}; the holdout must start "
                f"after the first {MIN_RESEARCH_BARS} bars and at or before the last bar",
                details={"symbol": symbol, "timeframe": timeframe},
            )
        self.get(symbol, timeframe)  # freeze first, so the update below always finds its row
        values = _split_values(index, position)
        with write_transaction(self.engine) as conn:
            conn.execute(
                update(table)
                .where(table.c.symbol == symbol, table.c.timeframe == timeframe)
                .values(**values, frozen_at=_now(), holdout_looks=0)
            )
        logger.warning(
            "data window of %s %s reset: holdout now starts %s (look count reset to 0)",
            symbol,
            timeframe,
            values["holdout_start"].isoformat(),
        )
        return self.get(symbol, timeframe)

    def count_look(
        self, symbol: str, timeframe: str, *, conn: Connection | None = None, by: int = 1
    ) -> int:
        """Add ``by`` looks (-1 takes back one that never ran) at a data set's holdout; return
        the new count. Inside the caller's transaction ``conn`` when given, so a look and its
        record are written together."""
        symbol, timeframe = canonical_symbol(symbol), canonical_timeframe(timeframe)
        self.get(symbol, timeframe)
        where = (table.c.symbol == symbol, table.c.timeframe == timeframe)
        add = update(table).where(*where).values(holdout_looks=table.c.holdout_looks + by)
        count = select(table.c.holdout_looks).where(*where)
        if conn is not None:
            conn.execute(add)
            return int(conn.execute(count).scalar_one())
        with write_transaction(self.engine) as own:
            own.execute(add)
            return int(own.execute(count).scalar_one())

    def _row(self, symbol: str, timeframe: str) -> RowMapping | None:
        query = select(table).where(table.c.symbol == symbol, table.c.timeframe == timeframe)
        with read_connection(self.engine) as conn:
            return conn.execute(query).mappings().first()

    def _freeze(self, symbol: str, timeframe: str) -> None:
        index = self.data.load(symbol, timeframe).index
        position = len(index) - math.ceil(len(index) * self.holdout_fraction)
        if position < MIN_RESEARCH_BARS or position >= len(index):
            raise DataError(
                f"{symbol} {timeframe} has {len(index)} bars: too few to seal a "
                f"{self.holdout_fraction:.0%} holdout and keep {MIN_RESEARCH_BARS} research bars",
                details={"symbol": symbol, "timeframe": timeframe, "bars": len(index)},
            )
        values = _split_values(index, position)
        try:
            with write_transaction(self.engine) as conn:
                conn.execute(
                    table.insert().values(
                        symbol=symbol,
                        timeframe=timeframe,
                        **values,
                        frozen_at=_now(),
                        holdout_looks=0,
                    )
                )
        except IntegrityError:
            return  # a concurrent first use froze it; its row stands
        logger.info(
            "data window of %s %s frozen: research %s..%s, holdout from %s (%d of %d bars)",
            symbol,
            timeframe,
            values["research_start"].isoformat(),
            values["research_end"].isoformat(),
            values["holdout_start"].isoformat(),
            len(index) - position,
            len(index),
        )

    def _window(self, row: RowMapping) -> DataWindow:
        try:
            last = self.data.available_range(row["symbol"], row["timeframe"])[1]
        except (DataError, NotFoundError):
            last = None  # the data set was removed since; its window stays on record
        holdout_start = _utc(row["holdout_start"])
        return DataWindow(
            symbol=row["symbol"],
            timeframe=row["timeframe"],
            research_start=_utc(row["research_start"]),
            research_end=_utc(row["research_end"]),
            holdout_start=holdout_start,
            holdout_end=last if last is not None and last >= holdout_start else None,
            frozen_at=_utc(row["frozen_at"]),
            holdout_looks=int(row["holdout_looks"]),
        )


def _split_values(index: pd.DatetimeIndex, position: int) -> dict[str, pd.Timestamp]:
    return {
        "research_start": index[0],
        "research_end": index[position - 1],
        "holdout_start": index[position],
    }


def _utc(value: dt.datetime) -> pd.Timestamp:
    """A stored time as a UTC timestamp (SQLite hands back naive datetimes)."""
    stamp = pd.Timestamp(value)
    return stamp.tz_localize("UTC") if stamp.tzinfo is None else stamp.tz_convert("UTC")


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)
