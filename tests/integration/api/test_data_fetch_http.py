"""POST /data/fetch, /data/update and GET /data/check over real HTTP, against a stand-in Binance."""

from __future__ import annotations

import httpx
import pandas as pd
import pytest
from support.eventually import eventually, terminal
from support.fake_binance import fake_binance

API = "/api/v1"
JANUARY_HOURS = 31 * 24


@pytest.fixture
def exchange():
    with fake_binance() as server:
        yield server


def _post(server, path: str, body: dict) -> httpx.Response:
    return httpx.post(f"{server.base_url}{API}{path}", json=body)


def _get(server, path: str, **params) -> httpx.Response:
    return httpx.get(f"{server.base_url}{API}{path}", params=params)


def _fetch(server, exchange, **fields) -> httpx.Response:
    body = {
        "symbol": "BTC/USDT",
        "source": "ccxt:binance",
        "timeframe": "1h",
        "start": "2021-01-01",
        "end": "2021-01-31",
        "base_url": exchange.base_url,
    }
    return _post(server, "/data/fetch", {**body, **fields})


def _dataset(server, symbol: str) -> dict | None:
    found = [d for d in _get(server, "/data").json()["data"] if d["symbol"] == symbol]
    return found[0] if found else None


def test_fetch_runs_as_an_operation_and_data_list_names_the_exchange(live_server, exchange):
    response = _fetch(live_server, exchange)

    assert response.status_code == 202
    operation_id = response.json()["operation_id"]
    operation = terminal(live_server.services.operations, operation_id)
    assert operation.status == "completed", operation.error_message
    assert operation.operation_type == "data_fetch"
    assert operation.progress.items_done == JANUARY_HOURS == operation.progress.items_total
    assert operation.result_summary["bars_added"] == JANUARY_HOURS
    dataset = _dataset(live_server, "BTC-USDT")
    assert dataset["source"] == "fetched" and dataset["bars"] == JANUARY_HOURS
    assert dataset["provenance"]["exchange"] == "binance"
    assert dataset["provenance"]["source"] == "ccxt:binance"


def test_a_longer_rerun_through_the_api_requests_only_the_tail(live_server, exchange):
    first = _fetch(live_server, exchange).json()["operation_id"]
    terminal(live_server.services.operations, first)
    before = len(exchange.kline_starts)

    second = _fetch(live_server, exchange, end="2021-02-28").json()["operation_id"]

    assert terminal(live_server.services.operations, second).status == "completed"
    assert min(exchange.kline_starts[before:]) == pd.Timestamp("2021-02-01", tz="UTC")
    assert _dataset(live_server, "BTC-USDT")["bars"] == JANUARY_HOURS + 28 * 24


def test_cancel_mid_way_keeps_the_pages_and_a_rerun_resumes(live_server, exchange):
    exchange.hold_after = 2  # the third page request waits until released
    operations = live_server.services.operations
    operation_id = _fetch(live_server, exchange).json()["operation_id"]
    eventually(lambda: len(exchange.kline_starts) >= 3, "the third page is requested")

    assert httpx.delete(f"{live_server.base_url}{API}/operations/{operation_id}").is_success
    exchange.release.set()
    assert terminal(operations, operation_id).status == "cancelled"
    live_server.services.fetch.join(timeout=30)
    kept = _dataset(live_server, "BTC-USDT")["bars"]
    assert 200 <= kept < JANUARY_HOURS
    before = len(exchange.kline_starts)

    resumed = _fetch(live_server, exchange).json()["operation_id"]

    assert terminal(operations, resumed).status == "completed"
    resumed_from = exchange.kline_starts[before]
    assert resumed_from == pd.Timestamp("2021-01-01", tz="UTC") + pd.Timedelta(hours=kept)
    assert _dataset(live_server, "BTC-USDT")["bars"] == JANUARY_HOURS


def test_an_unknown_symbol_fails_the_operation_and_stores_nothing(live_server, exchange):
    operation_id = _fetch(live_server, exchange, symbol="NOPE/USDT").json()["operation_id"]

    operation = terminal(live_server.services.operations, operation_id, timeout=10)

    assert operation.status == "failed"
    assert "unknown symbol 'NOPE/USDT' on ccxt:binance" in operation.error_message
    assert _dataset(live_server, "NOPE-USDT") is None


@pytest.mark.parametrize(
    ("fields", "named"),
    [
        ({"timeframe": "3h"}, "3h"),
        ({"source": "quandl"}, "quandl"),
        ({"source": "ccxt:nowhere"}, "nowhere"),
        ({"start": "not a date"}, "not a date"),
    ],
)
def test_bad_requests_are_422_naming_the_input_and_start_nothing(
    live_server, exchange, fields, named
):
    response = _fetch(live_server, exchange, **fields)

    assert response.status_code == 422
    assert named in response.json()["error"]["message"]
    listed = live_server.services.operations.list(operation_type="data_fetch")
    assert listed.total_count == 0


def test_update_brings_fetched_sets_up_to_now_and_check_reports_gaps(live_server, exchange):
    first = _fetch(live_server, exchange, timeframe="1d", end="2021-01-02").json()["operation_id"]
    terminal(live_server.services.operations, first)
    before = len(exchange.kline_starts)

    response = _post(live_server, "/data/update", {"symbol": "BTC-USDT"})

    assert response.status_code == 202
    (operation_id,) = response.json()["data"]["operation_ids"]
    operation = terminal(live_server.services.operations, operation_id, timeout=60)
    assert operation.status == "completed", operation.error_message
    assert exchange.kline_starts[before] == pd.Timestamp("2021-01-03", tz="UTC")
    last = pd.Timestamp(_dataset(live_server, "BTC-USDT")["last"])
    assert last >= pd.Timestamp.now(tz="UTC") - pd.Timedelta(days=2)

    report = _get(live_server, "/data/check", symbol="BTC-USDT", timeframe="1d").json()["data"]
    assert report["calendar"] == "crypto" and report["missing"] == 0
    assert report["bars"] == report["expected"]


def test_update_without_fetched_data_is_404(live_server):
    response = _post(live_server, "/data/update", {})

    assert response.status_code == 404
    assert "no fetched data sets" in response.json()["error"]["message"]
