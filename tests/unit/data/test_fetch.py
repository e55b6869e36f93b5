"""Fetch planning without the network: request checks, missing ranges, sources, retries."""

from __future__ import annotations

import pandas as pd
import pytest

from ktrdr.data import DataRepository
from ktrdr.data.fetch import FetchRequest, missing_ranges, prepare, run_fetch
from ktrdr.data.providers import provider_for, rebase_url
from ktrdr.data.providers._retry import (
    RETRY_MAX_SECONDS,
    RetryableSourceError,
    call_with_retries,
    retry_delay,
)
from ktrdr.errors import DataError, ValidationError

HOUR = pd.Timedelta(hours=1)
NOW = pd.Timestamp("2024-06-01 12:34", tz="UTC")


def _request(**fields) -> FetchRequest:
    values = {"symbol": "BTC/USDT", "source": "ccxt:binance", "timeframe": "1h"}
    return FetchRequest(**{**values, **fields})


def test_stored_name_replaces_the_slash_and_as_overrides_it():
    assert prepare(_request(start="2024-01-01"), NOW).name == "BTC-USDT"
    assert prepare(_request(start="2024-01-01", name="btc"), NOW).name == "BTC"


def test_date_only_end_includes_the_whole_day_and_end_stops_at_the_last_closed_bar():
    day = prepare(_request(start="2024-01-01", end="2024-01-31"), NOW)
    assert day.end == pd.Timestamp("2024-01-31 23:00", tz="UTC")
    assert prepare(_request(start="2024-01-01"), NOW).end == pd.Timestamp(
        "2024-06-01 11:00", tz="UTC"
    )


@pytest.mark.parametrize(
    ("fields", "named"),
    [
        ({"timeframe": "7h"}, "7h"),
        ({"name": "no/slashes"}, "no/slashes"),
        ({"start": "2024-02-01", "end": "2024-01-01"}, "2024-02-01"),
        ({"start": "yesterday-ish"}, "yesterday-ish"),
        ({"base_url": "ftp://mirror"}, "ftp://mirror"),
        ({"symbol": " "}, "symbol"),
    ],
)
def test_bad_fields_are_refused_naming_them(fields, named):
    with pytest.raises(ValidationError, match=named.replace("/", ".")):
        prepare(_request(**{"start": "2024-01-01", **fields}), NOW)


def _stored(first: str, periods: int) -> pd.DataFrame:
    index = pd.date_range(first, periods=periods, freq="h", tz="UTC")
    return pd.DataFrame({"close": 1.0}, index=index)


def test_nothing_stored_fetches_the_whole_range_and_needs_a_start():
    start, end = pd.Timestamp("2024-01-01", tz="UTC"), pd.Timestamp("2024-01-02", tz="UTC")
    assert missing_ranges(None, start, end, HOUR) == [(start, end)]
    with pytest.raises(ValidationError, match="start"):
        missing_ranges(None, None, end, HOUR)


def test_only_the_ranges_before_and_after_the_stored_bars_are_fetched():
    stored = _stored("2024-01-10", 24)  # 2024-01-10 00:00 .. 23:00
    start, end = pd.Timestamp("2024-01-09", tz="UTC"), pd.Timestamp("2024-01-11 05:00", tz="UTC")

    assert missing_ranges(stored, start, end, HOUR) == [
        (start, pd.Timestamp("2024-01-09 23:00", tz="UTC")),
        (pd.Timestamp("2024-01-11", tz="UTC"), end),
    ]
    assert missing_ranges(stored, None, end, HOUR) == [(pd.Timestamp("2024-01-11", tz="UTC"), end)]
    assert missing_ranges(stored, stored.index[0], stored.index[-1], HOUR) == []


def test_unknown_sources_and_exchanges_are_refused_before_any_request():
    with pytest.raises(ValidationError, match="unknown source 'quandl'"):
        provider_for("quandl")
    with pytest.raises(ValidationError, match="unknown exchange 'nowhere'"):
        provider_for("ccxt:nowhere")
    with pytest.raises(ValidationError, match="base-url is not supported for yfinance"):
        provider_for("yfinance", base_url="http://127.0.0.1:9")


def test_rebase_keeps_path_and_query():
    rebased = rebase_url("https://api.binance.com/api/v3/klines?x=1", "http://127.0.0.1:8080")
    assert rebased == "http://127.0.0.1:8080/api/v3/klines?x=1"


def test_retries_are_bounded_and_then_fail_naming_the_attempts(monkeypatch):
    monkeypatch.setattr("ktrdr.data.providers._retry.time.sleep", lambda _s: None)
    calls = []

    def throttled():
        calls.append(1)
        raise RetryableSourceError("429 too many requests")

    with pytest.raises(DataError, match="gave up after 3 attempts: 429"):
        call_with_retries(throttled, label="ccxt:binance", max_retries=2)
    assert len(calls) == 3


def test_backoff_doubles_with_jitter_and_is_capped():
    assert 0.18 <= retry_delay(0) <= 0.32
    assert 0.37 <= retry_delay(1) <= 0.63
    assert retry_delay(30) <= RETRY_MAX_SECONDS * 1.25


class _OverlappingSource:
    """A source whose pages repeat bars already stored (as some exchanges do at range edges)."""

    source = "ccxt:test"

    def __init__(self, pages):
        self._pages = pages

    def calendar_for(self, symbol):
        return "crypto"

    def resolve_symbol(self, symbol):
        return symbol

    def pages(self, symbol, timeframe, start, end):
        yield from self._pages


def test_duplicates_keep_the_stored_bar_and_are_counted(tmp_path, make_bars):
    repository = DataRepository(tmp_path, bundled=False)
    stored = make_bars("2024-01-01", 10, "h")
    repository.write_bars("ABC", "1h", stored)
    overlapping = make_bars("2024-01-01 08:00", 5, "h", first_open=500.0)
    request = _request(symbol="ABC", start="2024-01-01", end="2024-01-01 12:00")

    summary = run_fetch(
        repository, prepare(request, NOW), provider=_OverlappingSource([overlapping])
    )

    assert (summary["bars_added"], summary["duplicates_dropped"]) == (3, 2)
    bars = repository.load("ABC", "1h")
    assert bars.loc[stored.index[8], "open"] == stored["open"].iloc[8]
    assert len(bars) == 13
