"""``yfinance``: equities, ETFs, FX (``EURUSD=X``), indices and crypto from Yahoo Finance.

Yahoo serves 1m bars for the last 7 days (at most 8 days a request), 5m–30m for the last 60 days,
1h for the last 730 days, and 1d/1w for the whole history; older intraday ranges come back empty.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from typing import Any

import pandas as pd

from ktrdr.data.providers._retry import RetryableSourceError, call_with_retries
from ktrdr.data.validation import BAR_COLUMNS, INDEX_NAME, validate_bars
from ktrdr.errors import DataError, ValidationError

logger = logging.getLogger(__name__)

INTERVALS = {
    "1m": "1m",
    "5m": "5m",
    "15m": "15m",
    "30m": "30m",
    "1h": "60m",
    "1d": "1d",
    "1w": "1wk",
}
REQUEST_SPAN = {  # the longest range Yahoo answers in one request, per interval
    "1m": pd.Timedelta(days=7),
    "5m": pd.Timedelta(days=59),
    "15m": pd.Timedelta(days=59),
    "30m": pd.Timedelta(days=59),
    "1h": pd.Timedelta(days=365),
}
YEARS_PER_DAILY_REQUEST = 10
TIMEOUT_SECONDS = 10


class YfinanceProvider:
    """Bars from Yahoo's chart API through ``yfinance`` (prices not adjusted for dividends)."""

    source = "yfinance"

    def __init__(self, *, base_url: str | None = None) -> None:
        if base_url is not None:
            raise ValidationError(
                "--base-url is not supported for yfinance: the yfinance library fixes Yahoo's "
                "hosts; use a proxy through HTTPS_PROXY instead",
                details={"base_url": base_url},
            )

    def calendar_for(self, symbol: str) -> str:
        """FX pairs (EURUSD=X) trade Sunday to Friday, crypto (BTC-USD) always, the rest on NYSE."""
        if symbol.endswith("=X"):
            return "fx"
        if symbol.endswith(("-USD", "-EUR", "-USDT")):
            return "crypto"
        return "XNYS"

    def resolve_symbol(self, symbol: str) -> str:
        """Yahoo's symbols are upper-case (eurusd=x -> EURUSD=X); unknown ones fail when fetched."""
        return symbol.strip().upper()

    def pages(
        self, symbol: str, timeframe: str, start: pd.Timestamp, end: pd.Timestamp
    ) -> Iterator[pd.DataFrame]:
        """Yield validated bars in [start, end], one request span at a time, oldest first."""
        if timeframe not in INTERVALS:
            raise ValidationError(
                f"yfinance does not serve timeframe {timeframe!r}; it serves "
                f"{', '.join(INTERVALS)}",
                details={"timeframe": timeframe, "source": self.source},
            )
        import yfinance

        ticker = yfinance.Ticker(symbol)
        span = REQUEST_SPAN.get(timeframe, pd.DateOffset(years=YEARS_PER_DAILY_REQUEST))
        since = start
        while since <= end:
            until = min(since + span, end + pd.Timedelta(seconds=1))
            label = f"yfinance {symbol} {timeframe} {since.date()}..{until.date()}"
            raw = call_with_retries(
                lambda since=since, until=until, label=label: _history(
                    ticker, INTERVALS[timeframe], since, until, label
                ),
                label=label,
            )
            page = _to_frame(raw, label, daily=timeframe in ("1d", "1w"))
            page = page[(page.index >= start) & (page.index <= end)]
            if not page.empty:
                yield page
            since = until


def _history(
    ticker: Any, interval: str, since: pd.Timestamp, until: pd.Timestamp, label: str
) -> pd.DataFrame:
    """One ``Ticker.history`` call; rate limits and 5xx retryable, the rest one clear error."""
    try:
        return ticker.history(
            interval=interval,
            start=since.to_pydatetime(),
            end=until.to_pydatetime(),
            auto_adjust=False,
            actions=False,
            timeout=TIMEOUT_SECONDS,
            raise_errors=True,
        )
    except Exception as exc:
        text = " ".join(str(exc).split())[:200]
        if (
            "Too Many Requests" in text
            or "Rate limit" in text
            or any(code in text for code in ("500", "502", "503", "504"))
        ):
            raise RetryableSourceError(f"{label}: {text}") from exc
        if "delisted" in text or "No data found" in text or "not found" in text.lower():
            raise ValidationError(f"{label}: unknown symbol or no data: {text}") from exc
        raise DataError(f"{label}: {text}") from exc


def _to_frame(raw: pd.DataFrame, label: str, *, daily: bool) -> pd.DataFrame:
    """Yahoo's frame as bars; daily bars keep the exchange's date at 00:00 UTC."""
    if raw is None or raw.empty:
        return pd.DataFrame(columns=list(BAR_COLUMNS))
    frame = raw.rename(columns=str.lower)[list(BAR_COLUMNS)].astype("float64")
    index = pd.DatetimeIndex(frame.index)
    if daily:
        index = index.tz_localize(None).normalize().tz_localize("UTC")
    frame.index = index.tz_convert("UTC")
    frame.index.name = INDEX_NAME
    validate_bars(frame, source=label)
    return frame
