"""A stand-in Binance spot REST API on loopback: ``/api/v3/exchangeInfo`` and ``/api/v3/klines``.

It answers in Binance's own JSON format, so the real ccxt adapter runs against it unchanged
(through ``--base-url``). Hooks let a test throttle (429), break a row, or hold a request.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

import pandas as pd

HOUR_MS = 3_600_000
INTERVAL_MS = {"1m": 60_000, "5m": 300_000, "15m": 900_000, "1h": HOUR_MS, "4h": 4 * HOUR_MS}
INTERVAL_MS["1d"] = 24 * HOUR_MS
LISTED_SINCE = pd.Timestamp("2020-01-01", tz="UTC")  # the first bar the exchange has
MAX_LIMIT = 100  # Binance allows 1000; a small page makes a month of hours take 8 pages


@dataclass
class FakeBinance:
    """The exchange's state: listed markets, the first bar it has, and the test hooks."""

    markets: tuple[tuple[str, str], ...] = (("BTC", "USDT"), ("ETH", "USDT"))
    listed_since: pd.Timestamp = LISTED_SINCE
    throttle_next: int = 0  # answer this many kline requests with 429 first
    broken_bar_at: pd.Timestamp | None = None  # this bar's high is below its open
    hold_after: int | None = None  # kline requests after this many wait for ``release``
    release: threading.Event = field(default_factory=threading.Event)
    kline_starts: list[pd.Timestamp] = field(default_factory=list)
    throttled: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)
    base_url: str = ""

    def klines(self, query: dict[str, str]) -> tuple[int, object]:
        """The answer to GET /api/v3/klines."""
        pair = {f"{base}{quote}" for base, quote in self.markets}
        if query.get("symbol") not in pair:
            return 400, {"code": -1121, "msg": "Invalid symbol."}
        with self.lock:
            if self.throttle_next > 0:
                self.throttle_next -= 1
                self.throttled += 1
                return 429, {"code": -1003, "msg": "Too many requests; current limit is 6000."}
            start_ms = int(query.get("startTime", self.listed_since.value // 1_000_000))
            self.kline_starts.append(pd.Timestamp(start_ms, unit="ms", tz="UTC"))
            count = len(self.kline_starts)
        if self.hold_after is not None and count > self.hold_after:
            self.release.wait(timeout=30)
        step = INTERVAL_MS[query["interval"]]
        limit = min(int(query.get("limit", 500)), MAX_LIMIT)
        first = max(start_ms, self.listed_since.value // 1_000_000)
        first = -(-first // step) * step
        now_ms = pd.Timestamp.now(tz="UTC").value // 1_000_000
        return 200, [
            self._row(t, step) for t in range(first, first + limit * step, step) if t < now_ms
        ]

    def _row(self, open_ms: int, step: int) -> list[object]:
        price = 100.0 + (open_ms // step) % 50
        high = price + 2
        if self.broken_bar_at is not None and open_ms == self.broken_bar_at.value // 1_000_000:
            high = price - 5
        return [
            open_ms,
            f"{price:.2f}",
            f"{high:.2f}",
            f"{price - 1:.2f}",
            f"{price + 1:.2f}",
            "12.5",
            open_ms + step - 1,
            "1250.0",
            42,
            "6.0",
            "600.0",
            "0",
        ]

    def exchange_info(self) -> dict[str, object]:
        """The answer to GET /api/v3/exchangeInfo: the listed spot markets."""
        return {
            "timezone": "UTC",
            "serverTime": pd.Timestamp.now(tz="UTC").value // 1_000_000,
            "rateLimits": [],
            "exchangeFilters": [],
            "symbols": [_market(base, quote) for base, quote in self.markets],
        }


def _market(base: str, quote: str) -> dict[str, object]:
    return {
        "symbol": f"{base}{quote}",
        "status": "TRADING",
        "baseAsset": base,
        "baseAssetPrecision": 8,
        "quoteAsset": quote,
        "quotePrecision": 8,
        "quoteAssetPrecision": 8,
        "orderTypes": ["LIMIT", "MARKET"],
        "icebergAllowed": True,
        "ocoAllowed": True,
        "isSpotTradingAllowed": True,
        "isMarginTradingAllowed": False,
        "filters": [
            {
                "filterType": "PRICE_FILTER",
                "minPrice": "0.01",
                "maxPrice": "1000000",
                "tickSize": "0.01",
            },
            {
                "filterType": "LOT_SIZE",
                "minQty": "0.00001",
                "maxQty": "9000",
                "stepSize": "0.00001",
            },
        ],
        "permissions": ["SPOT"],
        "permissionSets": [["SPOT"]],
    }


def _handler(exchange: FakeBinance) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            parts = urlsplit(self.path)
            query = {key: values[-1] for key, values in parse_qs(parts.query).items()}
            if parts.path == "/api/v3/exchangeInfo":
                self._answer(200, exchange.exchange_info())
            elif parts.path == "/api/v3/klines":
                self._answer(*exchange.klines(query))
            else:
                self._answer(404, {"code": -1, "msg": f"no route {parts.path}"})

        def _answer(self, status: int, payload: object) -> None:
            body = json.dumps(payload).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    return Handler


@contextmanager
def fake_binance(**state: object) -> Iterator[FakeBinance]:
    """Serve a ``FakeBinance(**state)`` on a free loopback port; ``.base_url`` says where."""
    exchange = FakeBinance(**state)  # type: ignore[arg-type]
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(exchange))
    server.daemon_threads = True
    exchange.base_url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield exchange
    finally:
        exchange.release.set()
        server.shutdown()
        server.server_close()
