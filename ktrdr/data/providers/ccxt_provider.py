"""``ccxt:<exchange>``: spot OHLCV of any exchange ccxt supports, paged by the exchange's limit."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from typing import Any, TypeVar

import ccxt
import pandas as pd

from ktrdr.data.providers._retry import RetryableSourceError, call_with_retries
from ktrdr.data.providers.base import rebase_url
from ktrdr.data.timeframes import parse_timeframe
from ktrdr.data.validation import BAR_COLUMNS, INDEX_NAME, validate_bars
from ktrdr.errors import DataError, ValidationError

logger = logging.getLogger(__name__)

T = TypeVar("T")
TIMEOUT_MS = 10_000
FALLBACK_PAGE_LIMIT = 500


class CcxtProvider:
    """Spot bars from one ccxt exchange; the exchange's rate limit is respected by ccxt itself."""

    def __init__(self, exchange: str, *, base_url: str | None = None) -> None:
        """``exchange`` is a name in ``ccxt.exchanges`` (checked by ``check_source``)."""
        self.source = f"ccxt:{exchange}"
        self.exchange = getattr(ccxt, exchange)(
            {"enableRateLimit": True, "timeout": TIMEOUT_MS, "options": {"defaultType": "spot"}}
        )
        _restrict_to_spot(self.exchange)
        if base_url is not None:
            self.exchange.urls["api"] = _rebased(self.exchange.urls["api"], base_url)

    def calendar_for(self, symbol: str) -> str:
        """Crypto markets trade around the clock."""
        return "crypto"

    def resolve_symbol(self, symbol: str) -> str:
        """The exchange's market symbol for ``symbol`` (BTC-USDT, btc/usdt -> BTC/USDT)."""
        markets = self._call(self.exchange.load_markets, "load markets")
        upper = symbol.strip().upper()
        for candidate in (symbol.strip(), upper, upper.replace("-", "/"), upper.replace("_", "/")):
            if candidate in markets:
                return candidate
        raise ValidationError(
            f"unknown symbol {symbol!r} on {self.source}; write it as BASE/QUOTE or BASE-QUOTE, "
            "e.g. BTC/USDT",
            details={"symbol": symbol, "source": self.source},
        )

    def pages(
        self, symbol: str, timeframe: str, start: pd.Timestamp, end: pd.Timestamp
    ) -> Iterator[pd.DataFrame]:
        """Yield validated pages of bars with open times in [start, end], oldest first."""
        if timeframe not in (self.exchange.timeframes or {}):
            served = ", ".join(self.exchange.timeframes or {}) or "none"
            raise ValidationError(
                f"{self.source} does not serve timeframe {timeframe!r}; it serves {served}",
                details={"timeframe": timeframe, "source": self.source},
            )
        step_ms = int(parse_timeframe(timeframe).total_seconds() * 1000)
        since, end_ms = _ms(start), _ms(end)
        limit = _page_limit(self.exchange)
        while since <= end_ms:
            rows = self._call(
                lambda since=since: self.exchange.fetch_ohlcv(
                    symbol, timeframe, since=since, limit=limit
                ),
                f"fetch {symbol} {timeframe} bars from {_stamp(since)}",
            )
            page = _to_frame(rows, f"{self.source} {symbol} {timeframe} page from {_stamp(since)}")
            if page.empty:
                return
            inside = page[(page.index >= start) & (page.index <= end)]
            if not inside.empty:
                yield inside
            last = int(page.index[-1].value // 1_000_000)
            if last < since:
                return
            since = last + step_ms

    def _call(self, action: Callable[[], T], what: str) -> T:
        return call_with_retries(lambda: _translated(action, self.source, what), label=self.source)


def _translated(action: Callable[[], T], source: str, what: str) -> T:
    """Run a ccxt call; 429/5xx become retryable, other failures one clear DataError."""
    try:
        return action()
    except (ccxt.RateLimitExceeded, ccxt.DDoSProtection, ccxt.ExchangeNotAvailable) as exc:
        raise RetryableSourceError(f"{source}: could not {what}: {_short(exc)}") from exc
    except ccxt.BadSymbol as exc:
        raise ValidationError(f"{source}: could not {what}: {_short(exc)}") from exc
    except ccxt.NetworkError as exc:
        raise DataError(f"{source}: could not {what}: host unreachable: {_short(exc)}") from exc
    except ccxt.BaseError as exc:
        raise DataError(f"{source}: could not {what}: {_short(exc)}") from exc


def _to_frame(rows: list[list[Any]], source: str) -> pd.DataFrame:
    """Rows [ms, open, high, low, close, volume] as validated bars; a malformed row is refused."""
    if not rows:
        return pd.DataFrame(columns=list(BAR_COLUMNS))
    for number, row in enumerate(rows, start=1):
        if not isinstance(row, list | tuple) or len(row) < 6 or row[0] is None:
            raise DataError(
                f"{source}: row {number}: malformed bar {row!r}; expected "
                "[time, open, high, low, close, volume]",
                details={"source": source, "row": number},
            )
    frame = pd.DataFrame(
        [row[1:6] for row in rows], columns=list(BAR_COLUMNS), dtype="float64"
    ).set_index(pd.to_datetime([int(row[0]) for row in rows], unit="ms", utc=True))
    frame.index.name = INDEX_NAME
    validate_bars(frame, source=source)
    return frame


def _restrict_to_spot(exchange: Any) -> None:
    """Load spot markets only where the exchange allows it (fewer requests, spot OHLCV)."""
    fetch_markets = exchange.options.get("fetchMarkets")
    if isinstance(fetch_markets, dict) and "types" in fetch_markets:
        fetch_markets["types"] = ["spot"]
    elif isinstance(fetch_markets, list):
        exchange.options["fetchMarkets"] = ["spot"]
    exchange.options["fetchCurrencies"] = False


def _page_limit(exchange: Any) -> int:
    features = (getattr(exchange, "features", None) or {}).get("spot") or {}
    limit = (features.get("fetchOHLCV") or {}).get("limit")
    return int(limit) if limit else FALLBACK_PAGE_LIMIT


def _rebased(urls: Any, base_url: str) -> Any:
    if isinstance(urls, str):
        return rebase_url(urls, base_url)
    if isinstance(urls, dict):
        return {key: _rebased(value, base_url) for key, value in urls.items()}
    return urls


def _ms(stamp: pd.Timestamp) -> int:
    return int(stamp.value // 1_000_000)


def _stamp(ms: int) -> str:
    return pd.Timestamp(ms, unit="ms", tz="UTC").isoformat()


def _short(exc: BaseException) -> str:
    text = " ".join(str(exc).split())
    return text if len(text) <= 200 else text[:200] + "…"
