"""The real ccxt adapter against a stand-in Binance on loopback (``--base-url``): no network."""

from __future__ import annotations

import time

import pandas as pd
import pytest
from support.fake_binance import fake_binance

from ktrdr.agents.design.offline import OfflineDesigner
from ktrdr.data import DataRepository, DataWindows
from ktrdr.data.fetch import FetchRequest, prepare, run_fetch
from ktrdr.data.provenance import read_provenance
from ktrdr.errors import DataError, ValidationError
from ktrdr.operations import OperationsStore

JANUARY_HOURS = 31 * 24


@pytest.fixture
def exchange():
    with fake_binance() as server:
        yield server


@pytest.fixture
def repository(tmp_path):
    return DataRepository(tmp_path / "data", bundled=False)


def _fetch(repository, exchange, start="2021-01-01", end="2021-01-31", **fields):
    request = FetchRequest(
        symbol=fields.pop("symbol", "BTC/USDT"),
        source="ccxt:binance",
        timeframe="1h",
        start=start,
        end=end,
        base_url=exchange.base_url,
        **fields,
    )
    return run_fetch(repository, prepare(request))


def test_a_month_of_hours_is_fetched_page_by_page(repository, exchange):
    summary = _fetch(repository, exchange)

    assert summary["bars_added"] == JANUARY_HOURS and summary["status"] == "completed"
    assert len(exchange.kline_starts) == 8  # 744 bars, 100 a page
    bars = repository.load("BTC-USDT", "1h")
    assert len(bars) == JANUARY_HOURS
    assert bars.index[0] == pd.Timestamp("2021-01-01", tz="UTC")
    assert (bars.index.to_series().diff().dropna() == pd.Timedelta(hours=1)).all()
    provenance = read_provenance(repository.data_file("BTC-USDT", "1h"))
    assert provenance["exchange"] == "binance" and provenance["symbol"] == "BTC/USDT"
    assert provenance["runs"][0]["bars_added"] == JANUARY_HOURS


def test_a_longer_rerun_requests_only_the_tail(repository, exchange):
    _fetch(repository, exchange)
    first_run = len(exchange.kline_starts)

    summary = _fetch(repository, exchange, end="2021-02-28")

    tail_starts = exchange.kline_starts[first_run:]
    assert tail_starts[0] == pd.Timestamp("2021-02-01", tz="UTC")
    assert min(tail_starts) >= pd.Timestamp("2021-02-01", tz="UTC")
    assert summary["bars_added"] == 28 * 24
    assert len(repository.load("BTC-USDT", "1h")) == JANUARY_HOURS + 28 * 24
    runs = read_provenance(repository.data_file("BTC-USDT", "1h"))["runs"]
    assert [run["bars_added"] for run in runs] == [JANUARY_HOURS, 28 * 24]


def test_a_cancelled_fetch_keeps_its_pages_and_the_rerun_resumes_after_them(repository, exchange):
    pages = []
    summary = run_fetch(
        repository,
        prepare(
            FetchRequest(
                "BTC/USDT",
                "ccxt:binance",
                "1h",
                start="2021-01-01",
                end="2021-01-31",
                base_url=exchange.base_url,
            )
        ),
        on_progress=lambda done, _total, _step: pages.append(done),
        is_cancelled=lambda: len(pages) >= 3,  # the first report is before any page
    )
    assert summary["status"] == "cancelled" and summary["bars_added"] == 200
    assert len(repository.load("BTC-USDT", "1h")) == 200
    before = len(exchange.kline_starts)

    resumed = _fetch(repository, exchange)

    assert exchange.kline_starts[before] == pd.Timestamp("2021-01-09 08:00", tz="UTC")
    assert resumed["bars_added"] == JANUARY_HOURS - 200
    assert len(repository.load("BTC-USDT", "1h")) == JANUARY_HOURS


def test_rate_limited_requests_are_retried_with_backoff(repository, exchange):
    exchange.throttle_next = 2

    summary = _fetch(repository, exchange)

    assert exchange.throttled == 2
    assert summary["bars_added"] == JANUARY_HOURS


def test_an_unknown_symbol_is_one_clear_error_and_nothing_is_stored(repository, exchange):
    with pytest.raises(ValidationError, match="unknown symbol 'DOGE/EUR' on ccxt:binance"):
        _fetch(repository, exchange, symbol="DOGE/EUR")

    assert not repository.data_file("DOGE-EUR", "1h").exists()
    assert exchange.kline_starts == []


def test_a_malformed_row_is_refused_naming_it_and_earlier_pages_are_kept(repository, exchange):
    exchange.broken_bar_at = pd.Timestamp("2021-01-10 03:00", tz="UTC")

    with pytest.raises(DataError, match=r"2021-01-10 03:00:00\+00:00\): high .* < max"):
        _fetch(repository, exchange)

    stored = repository.load("BTC-USDT", "1h")
    assert stored.index[-1] < exchange.broken_bar_at
    assert len(stored) == 200  # the two pages before the broken one


def test_an_unreachable_host_fails_within_seconds(repository):
    began = time.monotonic()
    with pytest.raises(DataError, match="host unreachable"):
        run_fetch(
            repository,
            prepare(
                FetchRequest(
                    "BTC/USDT", "ccxt:binance", "1h", "2021-01-01", base_url="http://127.0.0.1:9"
                )
            ),
        )
    assert time.monotonic() - began < 10
    assert repository.list() == []


def test_bars_symbol_accepts_the_stored_spelling(repository, exchange):
    summary = _fetch(repository, exchange, symbol="btc-usdt", end="2021-01-01")

    assert summary["source_symbol"] == "BTC/USDT" and summary["symbol"] == "BTC-USDT"
    assert summary["bars_added"] == 24


def test_the_offline_designer_researches_fetched_data_by_its_stored_name(
    repository, exchange, tmp_path
):
    _fetch(repository, exchange, end="2021-04-30")
    designer = OfflineDesigner(f"sqlite:///{tmp_path / 'optuna.db'}", seed=1)
    store = OperationsStore.from_url(f"sqlite:///{tmp_path / 'ktrdr.db'}")
    windows = DataWindows(store.engine, repository, holdout_fraction=0.2)

    try:
        config, _ = designer.design(
            brief=None,
            data=repository,
            windows=windows,
            memory_records=[],
            symbol="BTC-USDT",
            timeframe="1h",
        )
        from_brief, _ = designer.design(
            brief="trend following on btc-usdt hourly",
            data=repository,
            windows=windows,
            memory_records=[],
        )
    finally:
        store.dispose()

    assert (config.symbols(), config.timeframes()) == (["BTC-USDT"], ["1h"])
    assert (from_brief.symbols(), from_brief.timeframes()) == (["BTC-USDT"], ["1h"])


def test_importing_a_file_over_fetched_data_drops_its_provenance(repository, exchange, tmp_path):
    _fetch(repository, exchange, end="2021-01-02")
    path = tmp_path / "own.csv"
    repository.load("BTC-USDT", "1h").to_csv(path)

    repository.import_file(path, "BTC-USDT", "1h")

    (info,) = repository.list()
    assert info.source == "imported" and info.provenance is None
