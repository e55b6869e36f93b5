"""The market data repository: bundled samples plus imported Parquet files, sliced and resampled."""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any, Literal

import pandas as pd

from ktrdr.data import _cache
from ktrdr.data.io import read_bars_file
from ktrdr.data.provenance import provenance_path, read_provenance
from ktrdr.data.resample import resample_bars
from ktrdr.data.timeframes import TIMEFRAMES, canonical_timeframe, parse_timeframe
from ktrdr.errors import DataError, NotFoundError, ValidationError
from ktrdr.files import write_atomically

logger = logging.getLogger(__name__)

SYMBOL_PATTERN = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,31}")
DATE_ONLY = re.compile(r"\d{4}-\d{2}-\d{2}")
DateLike = str | date | datetime | pd.Timestamp

Source = Literal["imported", "bundled", "fetched"]
_Key = tuple[str, str]  # (symbol, timeframe)


@dataclass(frozen=True)
class DatasetInfo:
    """One stored data set: e.g. EURUSD 1h, 5,000 bars, 2017-04-19 09:00 .. 2018-02-07 15:00 UTC."""

    symbol: str
    timeframe: str
    bars: int
    first: pd.Timestamp
    last: pd.Timestamp
    source: Source
    provenance: dict[str, Any] | None = None


@dataclass(frozen=True)
class _Stored:
    symbol: str
    timeframe: str
    source: Source
    location: str  # a file path (imported) or a sample file name (bundled)


def canonical_symbol(symbol: str) -> str:
    """Return the upper-case symbol ("eurusd" -> "EURUSD"); refuse names that are not plain."""
    if not isinstance(symbol, str) or not SYMBOL_PATTERN.fullmatch(symbol):
        raise ValidationError(
            f"invalid symbol {symbol!r}; use 1-32 letters, digits, '.', '_' or '-', "
            "starting with a letter or digit (e.g. EURUSD, BRK.B)",
            details={"symbol": str(symbol)},
        )
    return symbol.upper()


class DataRepository:
    """Market data under ``data_dir`` (``<SYMBOL>_<tf>.parquet``) plus the bundled samples.

    Imported data of a symbol and timeframe wins over the bundled sample of the same name.
    ``load`` serves a timeframe that is not stored by resampling the highest stored lower one
    (EURUSD 4h from EURUSD 1h).
    """

    def __init__(self, data_dir: Path, *, bundled: bool = True) -> None:
        self.data_dir = Path(data_dir)
        self.bundled = bundled

    def list(self) -> list[DatasetInfo]:
        """Return every stored data set, sorted by symbol then timeframe duration."""
        return [self._info(entry, self._read(entry)) for entry in self._stored().values()]

    def load(
        self,
        symbol: str,
        timeframe: str,
        start: DateLike | None = None,
        end: DateLike | None = None,
    ) -> pd.DataFrame:
        """Return the bars of ``symbol`` at ``timeframe`` whose open time lies in [start, end].

        Both bounds are inclusive; an ``end`` given as a date without a time ("2018-01-31" or a
        ``datetime.date``) includes that whole day. Naive bounds are UTC. An empty result raises
        DataError naming the requested range and the range the data covers.
        """
        symbol, timeframe = canonical_symbol(symbol), canonical_timeframe(timeframe)
        bars = self._full(symbol, timeframe)
        sliced = slice_bars(bars, start, end)
        if sliced.empty:
            raise DataError(
                f"no {symbol} {timeframe} bars between {start or 'the start'} and "
                f"{end or 'the end'}; the data covers {bars.index[0]} to {bars.index[-1]}",
                details={
                    "symbol": symbol,
                    "timeframe": timeframe,
                    "first": str(bars.index[0]),
                    "last": str(bars.index[-1]),
                },
            )
        return sliced

    def available_range(self, symbol: str, timeframe: str) -> tuple[pd.Timestamp, pd.Timestamp]:
        """Return the open times of the first and last bar ``load`` would return unsliced."""
        bars = self._full(canonical_symbol(symbol), canonical_timeframe(timeframe))
        return bars.index[0], bars.index[-1]

    def import_file(self, path: str | Path, symbol: str, timeframe: str) -> DatasetInfo:
        """Read, validate and store a CSV or Parquet file as ``<SYMBOL>_<tf>.parquet``.

        The file is written to a temporary name and moved into place atomically, so a
        failed import leaves any previously stored data untouched.
        """
        symbol, timeframe = canonical_symbol(symbol), canonical_timeframe(timeframe)
        bars = read_bars_file(path)
        _check_spacing(bars, timeframe, source=str(path))
        target = self.write_bars(symbol, timeframe, bars)
        provenance_path(target).unlink(missing_ok=True)  # the imported file replaces fetched bars
        logger.info("imported %d %s %s bars from %s", len(bars), symbol, timeframe, path)
        entry = _Stored(symbol, timeframe, "imported", str(target))
        return self._info(entry, bars)

    def data_file(self, symbol: str, timeframe: str) -> Path:
        """Where ``symbol`` at ``timeframe`` is stored (whether or not it exists yet)."""
        return (
            self.data_dir / f"{canonical_symbol(symbol)}_{canonical_timeframe(timeframe)}.parquet"
        )

    def stored_bars(self, symbol: str, timeframe: str) -> pd.DataFrame | None:
        """The bars stored in ``data_dir`` for exactly this symbol and timeframe, or None."""
        path = self.data_file(symbol, timeframe)
        return _cache.read_cached(path) if path.is_file() else None

    def write_bars(self, symbol: str, timeframe: str, bars: pd.DataFrame) -> Path:
        """Store validated ``bars`` atomically as ``<SYMBOL>_<tf>.parquet``; return the path."""
        target = self.data_file(symbol, timeframe)
        write_atomically(target, lambda temporary: bars.to_parquet(temporary, engine="pyarrow"))
        return target

    def _stored(self) -> dict[_Key, _Stored]:
        found: dict[_Key, _Stored] = {}
        if self.bundled:
            for name in _cache.bundled_sample_names():
                _add_named(found, name, "bundled", name)
        if self.data_dir.is_dir():
            for path in self.data_dir.glob("*.parquet"):
                _add_named(found, path.name, "imported", str(path))
        ordered = sorted(found, key=lambda key: (key[0], TIMEFRAMES[key[1]]))
        return {key: found[key] for key in ordered}

    def _read(self, entry: _Stored) -> pd.DataFrame:
        if entry.source == "bundled":
            return _cache.bundled_sample(entry.location)
        return _cache.read_cached(Path(entry.location))

    def _full(self, symbol: str, timeframe: str) -> pd.DataFrame:
        stored = self._stored()
        if (symbol, timeframe) in stored:
            return self._read(stored[(symbol, timeframe)])
        target = TIMEFRAMES[timeframe]
        lower = [
            entry
            for (sym, tf), entry in stored.items()
            if sym == symbol
            and TIMEFRAMES[tf] < target
            and target % TIMEFRAMES[tf] == pd.Timedelta(0)
        ]
        if not lower:
            raise _not_found(symbol, timeframe, stored)
        source = lower[-1]
        logger.debug("resampling %s %s to %s", symbol, source.timeframe, timeframe)
        return resample_bars(self._read(source), timeframe, source_timeframe=source.timeframe)

    @staticmethod
    def _info(entry: _Stored, bars: pd.DataFrame) -> DatasetInfo:
        provenance = read_provenance(Path(entry.location)) if entry.source != "bundled" else None
        return DatasetInfo(
            symbol=entry.symbol,
            timeframe=entry.timeframe,
            bars=len(bars),
            first=bars.index[0],
            last=bars.index[-1],
            source="fetched" if provenance else entry.source,
            provenance=provenance,
        )


def slice_bars(
    bars: pd.DataFrame, start: DateLike | None = None, end: DateLike | None = None
) -> pd.DataFrame:
    """Return the bars whose open time lies in [start, end] (may be empty).

    ``end`` given as a date without time ("2018-01-31") includes that whole day; naive bounds
    are UTC; ``start`` after ``end`` raises ValidationError.
    """
    lower = 0 if start is None else bars.index.searchsorted(to_utc(start, "start"), "left")
    upper = len(bars)
    if end is not None:
        end_stamp = to_utc(end, "end")
        if is_date_only(end):
            upper = bars.index.searchsorted(end_stamp + pd.Timedelta(days=1), "left")
        else:
            upper = bars.index.searchsorted(end_stamp, "right")
        if start is not None and to_utc(start, "start") > end_stamp:
            raise ValidationError(f"start {start} is after end {end}")
    return bars.iloc[lower:upper].copy()


def to_utc(value: DateLike, name: str) -> pd.Timestamp:
    """``value`` as a UTC timestamp (naive = UTC); ValidationError naming ``name`` if not a date."""
    try:
        stamp = pd.Timestamp(value)
    except (ValueError, TypeError) as exc:
        raise ValidationError(
            f"{name} {value!r} is not a date; use ISO 8601, e.g. 2018-01-31 or 2018-01-31T12:00",
            details={name: str(value)},
        ) from exc
    if pd.isna(stamp):
        raise ValidationError(f"{name} {value!r} is not a date", details={name: str(value)})
    return stamp.tz_localize("UTC") if stamp.tz is None else stamp.tz_convert("UTC")


def is_date_only(value: DateLike) -> bool:
    """True for a date without a time ("2018-01-31" or a ``datetime.date``)."""
    if isinstance(value, str):
        return DATE_ONLY.fullmatch(value.strip()) is not None
    return isinstance(value, date) and not isinstance(value, datetime)


def _add_named(
    found: dict[tuple[str, str], _Stored], name: str, source: Source, where: str
) -> None:
    stem, _, rest = name.rpartition("_")
    timeframe = rest.split(".", 1)[0]  # "1h.parquet", "1h.csv.gz" -> "1h"; symbols may hold "."
    if SYMBOL_PATTERN.fullmatch(stem) and timeframe.lower() in TIMEFRAMES:
        symbol, timeframe = stem.upper(), timeframe.lower()
        found[(symbol, timeframe)] = _Stored(symbol, timeframe, source, where)
    else:
        logger.debug("ignoring %s: not named <SYMBOL>_<timeframe>", name)


def _check_spacing(bars: pd.DataFrame, timeframe: str, *, source: str) -> None:
    if len(bars) < 3:
        return
    spacing = bars.index.to_series().diff().mode().iloc[0]
    if spacing != parse_timeframe(timeframe):
        raise ValidationError(
            f"{source}: bars are mostly {spacing} apart, which does not match timeframe "
            f"{timeframe} ({parse_timeframe(timeframe)}); import it with its own timeframe",
            details={"source": source, "timeframe": timeframe, "spacing": str(spacing)},
        )


def _not_found(
    symbol: str, timeframe: str, stored: dict[tuple[str, str], _Stored]
) -> NotFoundError:
    available = [f"{sym} {tf}" for sym, tf in stored]
    same_symbol = [tf for sym, tf in stored if sym == symbol]
    hint = (
        f"{symbol} is stored at {', '.join(same_symbol)}, and only higher timeframes can be "
        "resampled from it"
        if same_symbol
        else f"no data for symbol {symbol}; import a file first"
    )
    return NotFoundError(
        f"no {symbol} {timeframe} data: {hint}; available: {', '.join(available) or 'none'}",
        details={"symbol": symbol, "timeframe": timeframe, "available": available},
    )
