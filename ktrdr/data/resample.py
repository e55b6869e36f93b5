"""Aggregate bars to a higher timeframe with UTC-aligned bins, and bar close times."""

from __future__ import annotations

import numpy as np
import pandas as pd

from ktrdr.data.timeframes import TIMEFRAMES, canonical_timeframe, parse_timeframe
from ktrdr.data.validation import BAR_COLUMNS, INDEX_NAME
from ktrdr.errors import DataError, ValidationError

# A Monday at UTC midnight: every bin boundary is a whole number of bins from it, so intraday bins
# start at UTC midnight and weekly bins on Monday 00:00 UTC.
BIN_ORIGIN = pd.Timestamp("1970-01-05", tz="UTC")
AGGREGATION = {"open": "first", "high": "max", "low": "min", "close": "last", "volume": "sum"}


def resample_bars(
    bars: pd.DataFrame, timeframe: str, *, source_timeframe: str | None = None
) -> pd.DataFrame:
    """Aggregate ``bars`` to ``timeframe``: open=first, high=max, low=min, close=last, volume=sum.

    Bins are aligned to UTC midnight (weekly bins to Monday 00:00 UTC) and labelled with their
    open time, e.g. 1h bars 08:00..11:00 form the 4h bar 08:00. Bins without source bars
    (weekends, gaps) are left out. The last bin is dropped when incomplete, i.e. when it ends
    after the last source bar closes (1h bars up to 14:00 close at 15:00, so the 12:00 4h bin,
    which ends at 16:00, is dropped). The source timeframe is the smallest spacing between bars
    unless ``source_timeframe`` is given; a target below it raises ValidationError.
    """
    target = parse_timeframe(timeframe)
    if bars.empty:
        raise DataError("cannot resample an empty bars frame")
    source = _source_step(bars.index, source_timeframe)
    if target < source:
        raise ValidationError(
            f"cannot resample {_name(source)} bars down to {canonical_timeframe(timeframe)}; "
            f"resampling only aggregates to an equal or higher timeframe"
        )
    if target % source != pd.Timedelta(0):
        raise ValidationError(
            f"cannot resample {_name(source)} bars to {canonical_timeframe(timeframe)}: "
            f"{canonical_timeframe(timeframe)} is not a whole number of source bars"
        )
    if target == source:
        return bars.copy()
    labels = bin_open_times(bars.index, target)
    result = bars.groupby(labels, sort=True).agg(AGGREGATION)[list(BAR_COLUMNS)]
    result.index = pd.DatetimeIndex(result.index, name=INDEX_NAME)
    last_close = bars.index[-1] + source
    if result.index[-1] + target > last_close:
        result = result.iloc[:-1]
    return result.astype(np.float64)


def bin_open_times(index: pd.DatetimeIndex, timeframe: pd.Timedelta) -> pd.DatetimeIndex:
    """Return the open time of the ``timeframe`` bin holding each timestamp (UTC-aligned)."""
    offset = index - BIN_ORIGIN
    return pd.DatetimeIndex(BIN_ORIGIN + (offset // timeframe) * timeframe, name=INDEX_NAME)


def close_times(bars: pd.DataFrame, timeframe: str) -> pd.DatetimeIndex:
    """Return each bar's close time, open + timeframe (a 4h bar at 08:00 closes at 12:00)."""
    return pd.DatetimeIndex(bars.index + parse_timeframe(timeframe), name="close_time")


def _source_step(index: pd.DatetimeIndex, source_timeframe: str | None) -> pd.Timedelta:
    if source_timeframe is not None:
        return parse_timeframe(source_timeframe)
    if len(index) < 2:
        raise ValidationError(
            "cannot infer the timeframe of a single bar; pass source_timeframe explicitly"
        )
    return pd.Timedelta(np.diff(index.asi8).min(), unit=index.unit)


def _name(step: pd.Timedelta) -> str:
    return next((name for name, value in TIMEFRAMES.items() if value == step), str(step))
