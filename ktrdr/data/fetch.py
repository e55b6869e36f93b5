"""Fetch bars from a source into the repository: only the missing ranges, page by page.

Validated pages are merged and stored every couple of seconds and whenever the fetch stops
(completed, cancelled or failed), so an interrupted fetch keeps what it had and the next run
resumes after the last stored bar. Provenance is recorded beside the data set.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Any

import pandas as pd

from ktrdr.data.provenance import record_run
from ktrdr.data.providers import Provider, check_base_url, check_source, provider_for
from ktrdr.data.repository import DataRepository, canonical_symbol, is_date_only, to_utc
from ktrdr.data.timeframes import canonical_timeframe, parse_timeframe
from ktrdr.errors import DataError, ValidationError

logger = logging.getLogger(__name__)

SAVE_INTERVAL_SECONDS = 2.0  # validated pages reach the disk at least this often, and at the end
ProgressCallback = Callable[[int, int, str], None]  # bars fetched, bars expected, step
CancelCheck = Callable[[], bool]


@dataclass(frozen=True)
class FetchRequest:
    """What to fetch: ``symbol`` from ``source`` at ``timeframe`` between ``start`` and ``end``.

    ``start`` None continues a stored data set; ``end`` None means up to the last closed bar;
    ``name`` (``--as``) is the stored symbol, by default ``symbol`` with ``/`` -> ``-``.
    """

    symbol: str
    source: str
    timeframe: str
    start: str | None = None
    end: str | None = None
    name: str | None = None
    base_url: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """The request as JSON-ready fields."""
        return asdict(self)


@dataclass(frozen=True)
class PreparedFetch:
    """A request checked without touching the network."""

    request: FetchRequest
    name: str
    timeframe: str
    start: pd.Timestamp | None
    end: pd.Timestamp


def prepare(request: FetchRequest, now: pd.Timestamp | None = None) -> PreparedFetch:
    """Check every field that needs no network; raise ValidationError naming the bad one."""
    if not isinstance(request.symbol, str) or not request.symbol.strip():
        raise ValidationError("symbol is empty; give the source's symbol, e.g. BTC/USDT")
    timeframe = canonical_timeframe(request.timeframe)
    name = canonical_symbol(request.name or request.symbol.strip().replace("/", "-"))
    source = check_source(request.source)
    if request.base_url is not None:
        check_base_url(request.base_url)
        if source == "yfinance":
            provider_for(source, base_url=request.base_url)  # refuses it, saying why
    step = parse_timeframe(timeframe)
    last_closed = (now or pd.Timestamp.now(tz="UTC")).floor(step) - step
    start = None if request.start is None else to_utc(request.start, "start")
    end = last_closed
    if request.end is not None:
        end = to_utc(request.end, "end")
        if is_date_only(request.end):
            end = end + pd.Timedelta(days=1) - step
        end = min(end, last_closed)
    if start is not None and start > end:
        raise ValidationError(
            f"start {request.start} is after end {request.end or end.isoformat()}",
            details={"start": request.start, "end": request.end},
        )
    return PreparedFetch(request, name, timeframe, start, end)


def missing_ranges(
    stored: pd.DataFrame | None, start: pd.Timestamp | None, end: pd.Timestamp, step: pd.Timedelta
) -> list[tuple[pd.Timestamp, pd.Timestamp]]:
    """The ranges to fetch: before the first stored bar and after the last one."""
    if stored is None or stored.empty:
        if start is None:
            raise ValidationError("nothing is stored yet for this data set; give a start date")
        return [(start, end)]
    first, last = stored.index[0], stored.index[-1]
    ranges = []
    if start is not None and start < first:
        ranges.append((start, min(first - step, end)))
    if last + step <= end:
        ranges.append((last + step, end))
    return [(a, b) for a, b in ranges if a <= b]


def run_fetch(
    repository: DataRepository,
    prepared: PreparedFetch,
    *,
    on_progress: ProgressCallback | None = None,
    is_cancelled: CancelCheck | None = None,
    provider: Provider | None = None,
) -> dict[str, Any]:
    """Fetch what is missing, storing each page; return a summary (bars added, range, source)."""
    request, name, timeframe = prepared.request, prepared.name, prepared.timeframe
    provider = provider or provider_for(request.source, base_url=request.base_url)
    symbol = provider.resolve_symbol(request.symbol)
    step = parse_timeframe(timeframe)
    stored = repository.stored_bars(name, timeframe)
    ranges = missing_ranges(stored, prepared.start, prepared.end, step)
    expected = sum(int((b - a) / step) + 1 for a, b in ranges)
    fetched_at = pd.Timestamp.now(tz="UTC").isoformat()
    run: dict[str, Any] = {
        "fetched_at": fetched_at,
        "request": request.to_dict(),
        "ranges": [[a.isoformat(), b.isoformat()] for a, b in ranges],
        "bars_added": 0,
        "duplicates_dropped": 0,
        "status": "running",
    }
    state = _Progress(on_progress, expected)
    state.report("resolving" if ranges else "up to date")
    unsaved, saved_at = False, time.monotonic()
    try:
        for range_start, range_end in ranges:
            for page in provider.pages(symbol, timeframe, range_start, range_end):
                stored, added, dropped = _merge(stored, page)
                unsaved = unsaved or added > 0
                run["bars_added"] += added
                run["duplicates_dropped"] += dropped
                if unsaved and time.monotonic() - saved_at >= SAVE_INTERVAL_SECONDS:
                    repository.write_bars(name, timeframe, stored)
                    unsaved, saved_at = False, time.monotonic()
                state.advance(len(page), f"fetched up to {page.index[-1].isoformat()}")
                if is_cancelled is not None and is_cancelled():
                    run["status"] = "cancelled"
                    return _summary(name, timeframe, provider, symbol, stored, run)
        if stored is None or stored.empty:
            raise DataError(
                f"{provider.source} returned no {symbol} {timeframe} bars between "
                f"{ranges[0][0].isoformat()} and {ranges[0][1].isoformat()}; nothing stored",
                details={"symbol": symbol, "source": provider.source},
            )
        run["status"] = "completed"
        return _summary(name, timeframe, provider, symbol, stored, run)
    except BaseException:
        run["status"] = "failed"
        raise
    finally:
        if unsaved and stored is not None:
            repository.write_bars(name, timeframe, stored)
        if run["bars_added"] or run["status"] == "completed":
            record_run(
                repository.data_file(name, timeframe),
                _base(provider, symbol, timeframe, request),
                run,
            )


class _Progress:
    def __init__(self, callback: ProgressCallback | None, expected: int) -> None:
        self.callback, self.expected, self.done = callback, expected, 0

    def report(self, step: str) -> None:
        if self.callback is not None:
            self.callback(self.done, self.expected, step)

    def advance(self, bars: int, step: str) -> None:
        self.done = min(self.done + bars, self.expected)
        self.report(step)


def _merge(stored: pd.DataFrame | None, page: pd.DataFrame) -> tuple[pd.DataFrame, int, int]:
    """Stored bars plus ``page``; stored bars win over duplicates. (bars, added, dropped)."""
    if stored is None or stored.empty:
        return page.copy(), len(page), 0
    new = page[~page.index.isin(stored.index)]
    merged = pd.concat([stored, new]).sort_index()
    return merged, len(new), len(page) - len(new)


def _base(provider: Provider, symbol: str, timeframe: str, request: FetchRequest) -> dict[str, Any]:
    kind, _, exchange = provider.source.partition(":")
    return {
        "source": provider.source,
        "provider": kind,
        "exchange": exchange or None,
        "symbol": symbol,
        "timeframe": timeframe,
        "calendar": provider.calendar_for(symbol),
        "base_url": request.base_url,
        "request": request.to_dict(),
    }


def _summary(
    name: str,
    timeframe: str,
    provider: Provider,
    symbol: str,
    stored: pd.DataFrame | None,
    run: dict[str, Any],
) -> dict[str, Any]:
    has_bars = stored is not None and not stored.empty
    return {
        "symbol": name,
        "timeframe": timeframe,
        "source": provider.source,
        "source_symbol": symbol,
        "bars_added": run["bars_added"],
        "duplicates_dropped": run["duplicates_dropped"],
        "bars": len(stored) if has_bars else 0,
        "first": stored.index[0].isoformat() if has_bars else None,
        "last": stored.index[-1].isoformat() if has_bars else None,
        "ranges": run["ranges"],
        "status": run["status"],
    }
