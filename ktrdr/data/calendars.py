"""Expected bars from a trading calendar, and the gap report of ``ktrdr data check``.

Calendars: ``crypto`` (24/7), ``fx`` (Sunday 22:00 – Friday 22:00 UTC) and any exchange code
``exchange-calendars`` knows (XNYS, XLON, ...). Gaps are reported, never filled.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from ktrdr.data.provenance import read_provenance
from ktrdr.data.repository import DataRepository, canonical_symbol
from ktrdr.data.timeframes import canonical_timeframe, parse_timeframe
from ktrdr.errors import ValidationError

MAX_LISTED = 50  # ranges listed per kind; the counts are always complete
FX_CLOSE = pd.Timedelta(days=4, hours=22)  # Friday 22:00, measured from Monday 00:00
FX_OPEN = pd.Timedelta(days=6, hours=22)  # Sunday 22:00
CALENDARS_HELP = "crypto, fx or an exchange code such as XNYS, XLON, XTKS"


def expected_bars(
    calendar: str, start: pd.Timestamp, end: pd.Timestamp, timeframe: str
) -> pd.DatetimeIndex:
    """Open times of the bars ``calendar`` expects in [start, end] at ``timeframe``."""
    step = parse_timeframe(timeframe)
    if calendar == "crypto" or step >= pd.Timedelta(weeks=1):
        return pd.date_range(start, end, freq=step)
    if calendar == "fx":
        return _fx_bars(start, end, step)
    return _exchange_bars(calendar, start, end, step)


def check_bars(
    bars: pd.DataFrame,
    calendar: str,
    timeframe: str,
    provenance: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Missing bars, bars off the calendar and zero-volume runs of ``bars``; nothing is changed."""
    expected = expected_bars(calendar, bars.index[0], bars.index[-1], timeframe)
    missing = expected.difference(bars.index)
    step = parse_timeframe(timeframe)
    runs = provenance.get("runs", []) if provenance else []
    zero_runs = _runs(bars.index[bars["volume"].to_numpy() == 0], step)
    missing_runs = _runs(missing, step)
    return {
        "calendar": calendar,
        "timeframe": timeframe,
        "first": bars.index[0].isoformat(),
        "last": bars.index[-1].isoformat(),
        "bars": len(bars),
        "expected": len(expected),
        "missing": len(missing),
        "missing_ranges": [_listed(run) for run in missing_runs[:MAX_LISTED]],
        "off_calendar": len(bars.index.difference(expected)),
        "zero_volume_bars": int((bars["volume"].to_numpy() == 0).sum()),
        "zero_volume_runs": [_listed(run) for run in zero_runs[:MAX_LISTED]],
        "duplicates_fixed": sum(int(run.get("duplicates_dropped", 0)) for run in runs),
    }


def check_dataset(
    repository: DataRepository, symbol: str, timeframe: str, calendar: str | None = None
) -> dict[str, Any]:
    """The gap report of a stored data set; ``calendar`` defaults to the one of its source."""
    symbol, timeframe = canonical_symbol(symbol), canonical_timeframe(timeframe)
    bars = repository.load(symbol, timeframe)
    provenance = read_provenance(repository.data_file(symbol, timeframe))
    chosen = calendar or (provenance or {}).get("calendar")
    if not chosen:
        raise ValidationError(
            f"{symbol} {timeframe} was not fetched, so its calendar is unknown; "
            f"give one: {CALENDARS_HELP}",
            details={"symbol": symbol, "timeframe": timeframe},
        )
    chosen = chosen.strip()
    chosen = chosen.lower() if chosen.lower() in ("crypto", "fx") else chosen.upper()
    return {"symbol": symbol, **check_bars(bars, chosen, timeframe, provenance)}


def _fx_bars(start: pd.Timestamp, end: pd.Timestamp, step: pd.Timedelta) -> pd.DatetimeIndex:
    every = pd.date_range(start, end, freq=step)
    if step >= pd.Timedelta(days=1):
        return every[every.day_of_week < 5]
    since_monday = every - every.normalize() + pd.to_timedelta(every.day_of_week, unit="D")
    closed = (since_monday >= FX_CLOSE) & (since_monday < FX_OPEN)
    return every[~np.asarray(closed)]


def _exchange_bars(
    code: str, start: pd.Timestamp, end: pd.Timestamp, step: pd.Timedelta
) -> pd.DatetimeIndex:
    import exchange_calendars

    try:
        calendar = exchange_calendars.get_calendar(code.upper())
    except exchange_calendars.errors.InvalidCalendarName as exc:
        raise ValidationError(
            f"unknown calendar {code!r}; use {CALENDARS_HELP}", details={"calendar": code}
        ) from exc
    first = max(start.normalize(), calendar.first_session.tz_localize("UTC"))
    last = min(end.normalize(), calendar.last_session.tz_localize("UTC"))
    if first > last:
        return pd.DatetimeIndex([], tz="UTC")
    if step >= pd.Timedelta(days=1):
        sessions = calendar.sessions_in_range(first.tz_localize(None), last.tz_localize(None))
        return pd.DatetimeIndex(sessions).tz_localize("UTC")
    index = calendar.trading_index(
        first.tz_localize(None), last.tz_localize(None), step, intervals=True, force_close=False
    )
    opens = pd.DatetimeIndex(index.left)
    return opens[(opens >= start) & (opens <= end)]


def _runs(
    stamps: pd.DatetimeIndex, step: pd.Timedelta
) -> list[tuple[pd.Timestamp, pd.Timestamp, int]]:
    """Consecutive stamps (``step`` apart) as (first, last, count), in time order."""
    if len(stamps) == 0:
        return []
    breaks = np.flatnonzero(np.asarray((stamps[1:] - stamps[:-1]) != step)) + 1
    bounds = zip(
        np.concatenate(([0], breaks)), np.concatenate((breaks, [len(stamps)])), strict=True
    )
    return [(stamps[a], stamps[b - 1], int(b - a)) for a, b in bounds]


def _listed(run: tuple[pd.Timestamp, pd.Timestamp, int]) -> dict[str, Any]:
    return {"first": run[0].isoformat(), "last": run[1].isoformat(), "bars": run[2]}
