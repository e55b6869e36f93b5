"""Read OHLCV files (CSV or Parquet, with or without a header) into validated bars."""

from __future__ import annotations

import csv
import logging
import re
from pathlib import Path
from typing import IO

import numpy as np
import pandas as pd
import pyarrow.parquet as pq

from ktrdr.data.validation import BAR_COLUMNS, INDEX_NAME, validate_bars
from ktrdr.errors import DataError, KtrdrError, NotFoundError, PayloadTooLargeError, ValidationError

logger = logging.getLogger(__name__)

TIMESTAMP_UNIT = "us"
SUFFIXES = (".csv", ".parquet", ".pq")
# Per import, after decompression: 10 M bars is 40 years of minutes, about 0.5 GB as float64.
MAX_ROWS = 10_000_000
MAX_DECOMPRESSED_BYTES = 1024 * 1024 * 1024
HEADERLESS_ORDER = (INDEX_NAME, *BAR_COLUMNS)

# Lower-cased header names (spaces and "<>" stripped) -> bar field; first match wins.
SYNONYMS: dict[str, tuple[str, ...]] = {
    "timestamp": ("timestamp", "datetime", "date_time", "date", "time", "ts", "gmt_time"),
    "open": ("open", "o"),
    "high": ("high", "h"),
    "low": ("low", "l"),
    "close": ("close", "c", "last"),
    "volume": ("volume", "vol", "v", "tick_volume", "tickvol"),
}

# Epoch numbers below these magnitudes are read in this unit: 1e11 s is the year 5138,
# 1e11 ms is 1973, so real-world seconds and milliseconds never collide.
EPOCH_LIMITS = ((1e11, "s"), (1e14, "ms"), (1e17, "us"))
# Whole numbers in this range are dates written as YYYYMMDD (20170419), not epoch seconds of 1970.
YYYYMMDD_RANGE = (19000101, 21001231)


def read_bars_file(path: str | Path) -> pd.DataFrame:
    """Read a CSV or Parquet file of OHLCV bars and return validated bars (UTC, float64).

    Column names are matched case-insensitively with common synonyms (date/datetime/time,
    o/h/l/c/v, vol, last); separate "date" and "time" columns are joined; a CSV without a header
    must list timestamp, open, high, low, close[, volume]. A missing volume column reads as 0.0.
    Timestamps: naive ones are UTC, tz-aware ones are converted to UTC, numbers are epoch
    seconds or milliseconds (detected by magnitude, e.g. 1500000000 s == 1500000000000 ms)
    or YYYYMMDD dates (20170419).
    """
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in SUFFIXES:
        raise ValidationError(
            f"{path}: unsupported file type {suffix or '(none)'!r}; allowed: {', '.join(SUFFIXES)}"
        )
    if not path.is_file():
        raise NotFoundError(f"{path}: no such file", details={"path": str(path)})
    with path.open("rb") as stream:
        bars = read_bars_stream(stream, source=str(path), parquet=suffix != ".csv")
    logger.debug("read %d bars from %s", len(bars), path)
    return bars


def read_bars_stream(stream: IO[bytes], *, source: str, parquet: bool) -> pd.DataFrame:
    """Read bars from an open binary stream; ``source`` names it in error messages."""
    raw = _read_parquet(stream, source) if parquet else _read_csv(stream, source)
    bars = _to_bars(_rename_columns(raw, source), source)
    validate_bars(bars, source=source)
    return bars


def _read_parquet(stream: IO[bytes], source: str) -> pd.DataFrame:
    try:
        parquet = pq.ParquetFile(stream)
        _check_decompressed_size(parquet.metadata, source)
        frame = parquet.read().to_pandas()
    except KtrdrError:
        raise
    except Exception as exc:
        raise DataError(f"{source}: not a readable Parquet file: {exc}") from exc
    if isinstance(frame.index, pd.DatetimeIndex):
        frame = frame.rename_axis(INDEX_NAME).reset_index()
    return frame


def _check_decompressed_size(metadata: pq.FileMetaData, source: str) -> None:
    """Refuse, from the footer alone, a file whose rows or bytes would not fit the limits."""
    rows = metadata.num_rows
    size = sum(metadata.row_group(i).total_byte_size for i in range(metadata.num_row_groups))
    if rows > MAX_ROWS or size > MAX_DECOMPRESSED_BYTES:
        raise PayloadTooLargeError(
            f"{source}: {rows} rows, {size} bytes uncompressed; the limits are {MAX_ROWS} rows "
            f"and {MAX_DECOMPRESSED_BYTES} bytes per import",
            details={"rows": rows, "bytes": size},
        )


def _read_csv(stream: IO[bytes], source: str) -> pd.DataFrame:
    head = stream.readline().decode("utf-8-sig", errors="replace")
    stream.seek(0)
    if not head.strip():
        raise DataError(f"{source}: the file is empty", details={"source": source})
    delimiter = max(",;\t|", key=head.count)
    first_row = next(csv.reader([head], delimiter=delimiter))
    has_header = not _looks_like_value(first_row[0])
    try:
        frame = pd.read_csv(
            stream,
            sep=delimiter,
            header=0 if has_header else None,
            dtype=str,
            encoding="utf-8-sig",
            skipinitialspace=True,
        )
    except (ValueError, pd.errors.ParserError) as exc:
        raise DataError(f"{source}: not a readable CSV file: {exc}") from exc
    if not has_header:
        frame = _name_headerless(frame, source)
    return frame


def _looks_like_value(field: str) -> bool:
    text = field.strip().strip('"')
    # A digit is required so that header words pandas parses as dates ("now") stay headers.
    if not re.search(r"\d", text):
        return False
    if re.fullmatch(r"[+-]?\d+(\.\d*)?([eE][+-]?\d+)?", text):
        return True
    try:
        pd.Timestamp(text)
    except ValueError:
        return False
    return True


def _name_headerless(frame: pd.DataFrame, source: str) -> pd.DataFrame:
    width = frame.shape[1]
    if width not in (len(HEADERLESS_ORDER), len(HEADERLESS_ORDER) - 1):
        raise DataError(
            f"{source}: a CSV without a header needs the columns {', '.join(HEADERLESS_ORDER)} "
            f"(volume optional), found {width} columns",
            details={"source": source},
        )
    frame.columns = list(HEADERLESS_ORDER[:width])
    return frame


def _normal_name(name: object) -> str:
    return re.sub(r"[\s_]+", "_", str(name).strip().strip("<>").lower())


def _rename_columns(frame: pd.DataFrame, source: str) -> pd.DataFrame:
    names = {_normal_name(c): c for c in reversed(frame.columns)}
    if "date" in names and "time" in names and "timestamp" not in names:
        joined = frame[names["date"]].astype(str) + " " + frame[names["time"]].astype(str)
        frame = frame.assign(_joined_date_time=joined)
        names = {"timestamp": "_joined_date_time", **names}
    if "" in names or "unnamed:_0" in names:
        names.setdefault("timestamp", names.get("", names.get("unnamed:_0")))
    chosen = {}
    for field, synonyms in SYNONYMS.items():
        found = next((names[s] for s in synonyms if s in names), None)
        if found is not None:
            chosen[field] = found
    missing = [f for f in SYNONYMS if f not in chosen and f != "volume"]
    if missing:
        raise DataError(
            f"{source}: no column for {', '.join(missing)}; found columns "
            f"{', '.join(map(str, frame.columns))}; expected timestamp (or date/datetime/time), "
            f"open, high, low, close, volume (or o, h, l, c, v)",
            details={"source": source, "missing": missing},
        )
    result = pd.DataFrame({field: frame[column] for field, column in chosen.items()})
    if "volume" not in result:
        logger.info("%s: no volume column; reading volume as 0.0", source)
        result["volume"] = 0.0
    return result


def _to_bars(frame: pd.DataFrame, source: str) -> pd.DataFrame:
    index = pd.DatetimeIndex(_to_timestamps(frame["timestamp"], source), name=INDEX_NAME)
    columns = {c: _to_float(frame[c], c, index, source) for c in BAR_COLUMNS}
    return pd.DataFrame(columns, index=index)


def _to_timestamps(raw: pd.Series, source: str) -> pd.Series:
    if pd.api.types.is_datetime64_any_dtype(raw):
        stamps = raw.dt.tz_localize("UTC") if raw.dt.tz is None else raw.dt.tz_convert("UTC")
        return stamps.dt.as_unit(TIMESTAMP_UNIT)
    numbers = pd.to_numeric(raw, errors="coerce")
    if numbers.notna().all():
        return _from_number(numbers.astype(np.float64))
    text = raw.astype(str).str.strip()
    try:
        return pd.to_datetime(text, utc=True).dt.as_unit(TIMESTAMP_UNIT)
    except (ValueError, TypeError):
        stamps = pd.to_datetime(text, utc=True, errors="coerce", format="mixed")
    bad = stamps.isna() & raw.notna()
    if bad.any():
        row = int(np.flatnonzero(bad.to_numpy())[0])
        raise DataError(
            f"{source}: row {row + 1}: cannot read timestamp {text.iloc[row]!r}; "
            "use ISO 8601 (2017-04-19 09:00:00, optionally with +02:00) or epoch seconds/ms",
            details={"source": source, "row": row + 1},
        )
    return stamps.dt.as_unit(TIMESTAMP_UNIT)


def _from_number(numbers: pd.Series) -> pd.Series:
    if numbers.between(*YYYYMMDD_RANGE).all() and (numbers % 1 == 0).all():
        text = numbers.astype(np.int64).astype(str)
        return pd.to_datetime(text, format="%Y%m%d", utc=True).dt.as_unit(TIMESTAMP_UNIT)
    largest = float(numbers.abs().max())
    unit = next((u for limit, u in EPOCH_LIMITS if largest < limit), "ns")
    stamps = pd.to_datetime(numbers.round().astype(np.int64), unit=unit, utc=True)
    return stamps.dt.as_unit(TIMESTAMP_UNIT)


def _to_float(raw: pd.Series, column: str, index: pd.Index, source: str) -> np.ndarray:
    values = pd.to_numeric(raw, errors="coerce")
    bad = values.isna() & raw.notna() & (raw.astype(str).str.strip() != "")
    if bad.any():
        row = int(np.flatnonzero(bad.to_numpy())[0])
        raise DataError(
            f"{source}: row {row + 1} ({index[row]}): {column} {raw.iloc[row]!r} is not a number",
            details={"source": source, "row": row + 1, "column": column},
        )
    return values.to_numpy(dtype=np.float64, na_value=np.nan)
