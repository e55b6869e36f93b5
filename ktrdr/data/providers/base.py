"""The provider interface, the source names and the URL rebasing every adapter shares."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Protocol
from urllib.parse import urlsplit, urlunsplit

import pandas as pd

from ktrdr.errors import ValidationError

SOURCES_HELP = "ccxt:<exchange> (e.g. ccxt:binance, ccxt:coinbase) or yfinance"


class Provider(Protocol):
    """A source of OHLCV bars, fetched page by page."""

    source: str  # e.g. "ccxt:binance"

    def calendar_for(self, symbol: str) -> str:
        """The expected-bar calendar of ``symbol``: "crypto", "fx" or an exchange code (XNYS)."""
        ...

    def resolve_symbol(self, symbol: str) -> str:
        """The source's name of ``symbol`` (BTC-USDT -> BTC/USDT); unknown: ValidationError."""
        ...

    def pages(
        self, symbol: str, timeframe: str, start: pd.Timestamp, end: pd.Timestamp
    ) -> Iterator[pd.DataFrame]:
        """Yield validated bars (UTC index) with open times in [start, end], oldest page first."""
        ...


def check_source(source: str) -> str:
    """The canonical source name ("CCXT:Binance" -> "ccxt:binance"); unknown ones refused."""
    kind, _, exchange = source.strip().lower().partition(":")
    if kind == "yfinance" and not exchange:
        return kind
    if kind == "ccxt" and exchange.strip():
        import ccxt

        if exchange.strip() not in ccxt.exchanges:
            raise ValidationError(
                f"unknown exchange {exchange.strip()!r} for source ccxt; ccxt knows e.g. binance, "
                "coinbase, kraken, bybit, okx (ccxt.exchanges lists all)",
                details={"exchange": exchange},
            )
        return f"ccxt:{exchange.strip()}"
    raise ValidationError(
        f"unknown source {source!r}; use {SOURCES_HELP}", details={"source": source}
    )


def check_base_url(base_url: str) -> None:
    """Refuse a base URL that is not http(s)://host[:port]."""
    parts = urlsplit(base_url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ValidationError(
            f"base URL {base_url!r} must look like https://host[:port]",
            details={"base_url": base_url},
        )


def rebase_url(url: str, base_url: str) -> str:
    """``url`` with the scheme and host of ``base_url``, its path and query kept."""
    base, parts = urlsplit(base_url), urlsplit(url)
    if not parts.netloc:
        return url
    return urlunsplit((base.scheme, base.netloc, parts.path, parts.query, parts.fragment))
