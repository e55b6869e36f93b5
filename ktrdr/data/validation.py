"""The rules every bars frame obeys; the first broken rule is reported with its row."""

from __future__ import annotations

import numpy as np
import pandas as pd

from ktrdr.errors import DataError

BAR_COLUMNS: tuple[str, ...] = ("open", "high", "low", "close", "volume")
INDEX_NAME = "timestamp"


def validate_bars(bars: pd.DataFrame, *, source: str) -> None:
    """Raise DataError naming the first offending row if ``bars`` breaks the bars contract.

    Rules, checked in this order: the five columns open, high, low, close, volume exist; there is
    at least one bar; the index is a tz-aware UTC DatetimeIndex without NaT; timestamps strictly
    increase (no duplicates); every value is finite; volume >= 0; high >= max(open, close);
    low <= min(open, close). Rows are numbered from 1 in file order, e.g.
    "EURUSD.csv: row 17 (2017-04-20 02:00:00+00:00): high 1.0701 < max(open, close) 1.0712".
    """
    if not isinstance(bars, pd.DataFrame):
        raise DataError(f"{source}: expected a DataFrame of bars, got {type(bars).__name__}")
    missing = [c for c in BAR_COLUMNS if c not in bars.columns]
    if missing:
        raise DataError(
            f"{source}: missing columns {', '.join(missing)}; bars need {', '.join(BAR_COLUMNS)}",
            details={"source": source, "missing": missing},
        )
    if bars.empty:
        raise DataError(f"{source}: no bars", details={"source": source})
    _check_index(bars.index, source)
    values = {c: bars[c].to_numpy(dtype=np.float64, na_value=np.nan) for c in BAR_COLUMNS}
    _check_values(bars.index, values, source)


def _check_index(index: pd.Index, source: str) -> None:
    if not isinstance(index, pd.DatetimeIndex) or str(index.tz) != "UTC":
        raise DataError(
            f"{source}: the index must be a UTC DatetimeIndex of bar open times, "
            f"got {type(index).__name__} with dtype {index.dtype}",
            details={"source": source},
        )
    _fail_at(index, index.isna(), "timestamp is missing", source, "missing_timestamp")
    steps = np.diff(index.asi8)
    _fail_at(index, _shifted(steps == 0), "duplicate timestamp", source, "duplicate_timestamp")
    _fail_at(index, _shifted(steps < 0), "timestamps not sorted ascending", source, "unsorted")


def _check_values(index: pd.DatetimeIndex, v: dict[str, np.ndarray], source: str) -> None:
    for column in BAR_COLUMNS:
        bad = ~np.isfinite(v[column])
        _fail_at(index, bad, f"{column} is {_first(v[column], bad)}", source, "not_finite")
    bad = v["volume"] < 0
    _fail_at(index, bad, f"negative volume {_first(v['volume'], bad)}", source, "negative_volume")
    body_top = np.maximum(v["open"], v["close"])
    bad = v["high"] < body_top
    message = f"high {_first(v['high'], bad)} < max(open, close) {_first(body_top, bad)}"
    _fail_at(index, bad, message, source, "high_below_body")
    body_bottom = np.minimum(v["open"], v["close"])
    bad = v["low"] > body_bottom
    message = f"low {_first(v['low'], bad)} > min(open, close) {_first(body_bottom, bad)}"
    _fail_at(index, bad, message, source, "low_above_body")


def _shifted(flags: np.ndarray) -> np.ndarray:
    # diff() flags the pair (i-1, i); the offending row is the later one, i.
    return np.concatenate(([False], flags))


def _first(values: np.ndarray, bad: np.ndarray) -> object:
    return values[bad][0] if bad.any() else None


def _fail_at(index: pd.Index, bad: np.ndarray, what: str, source: str, rule: str) -> None:
    offending = np.flatnonzero(bad)
    if offending.size == 0:
        return
    position = int(offending[0])
    row = position + 1
    timestamp = index[position]
    more = f" ({offending.size - 1} more rows like it)" if offending.size > 1 else ""
    raise DataError(
        f"{source}: row {row} ({timestamp}): {what}{more}",
        details={"source": source, "row": row, "timestamp": str(timestamp), "rule": rule},
    )
