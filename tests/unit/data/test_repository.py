from __future__ import annotations

import datetime as dt
from pathlib import Path

import pandas as pd
import pytest

from ktrdr.data import DataRepository, DatasetInfo, resample_bars
from ktrdr.errors import DataError, NotFoundError, ValidationError


def _utc(stamp: str) -> pd.Timestamp:
    return pd.Timestamp(stamp, tz="UTC")


BUNDLED = [
    DatasetInfo(
        "BTCUSD", "1h", 33259, _utc("2018-05-15 06:00"), _utc("2022-03-01 00:00"), "bundled"
    ),
    DatasetInfo(
        "EURUSD", "1h", 5000, _utc("2017-04-19 09:00"), _utc("2018-02-07 15:00"), "bundled"
    ),
    DatasetInfo("GOOG", "1d", 2148, _utc("2004-08-19"), _utc("2013-03-01"), "bundled"),
    DatasetInfo("NASDAQ", "1d", 5031, _utc("1999-01-04"), _utc("2018-12-31"), "bundled"),
    DatasetInfo("SP500", "1d", 5031, _utc("1999-01-04"), _utc("2018-12-31"), "bundled"),
]


@pytest.fixture
def repo(data_dir) -> DataRepository:
    return DataRepository(data_dir)


@pytest.fixture
def csv_file(tmp_path, make_bars):
    """Forty 1h bars from 2024-01-03 08:00 as a CSV file."""
    path = tmp_path / "in.csv"
    make_bars("2024-01-03 08:00", 40, "h").to_csv(path)
    return path


def test_bundled_samples_listed_without_import(repo, data_dir):
    assert repo.list() == BUNDLED
    assert not data_dir.exists()


def test_bundled_btcusd_loads_from_its_gzipped_csv(repo):
    bars = repo.load("btcusd", "1H")
    assert len(bars) == 33259
    assert (bars.index[0], bars.index[-1]) == (_utc("2018-05-15 06:00"), _utc("2022-03-01 00:00"))
    assert (bars.index.to_series().diff().iloc[1:] == pd.Timedelta(hours=1)).all()  # no gaps
    assert bars.loc[_utc("2018-05-15 06:00")].to_dict() == {
        "open": 8733.86,
        "high": 8796.68,
        "low": 8707.28,
        "close": 8740.99,
        "volume": 559.93,
    }
    assert len(repo.load("BTCUSD", "1d", "2021-01-01", "2021-12-31")) == 365


def test_sample_names_with_dots_and_compression_suffixes(tmp_path, make_bars):
    make_bars("2024-01-03", 5, "D").to_parquet(tmp_path / "BRK.B_1d.parquet")
    repo = DataRepository(tmp_path, bundled=False)
    assert [(i.symbol, i.timeframe) for i in repo.list()] == [("BRK.B", "1d")]


def test_bundled_can_be_switched_off(data_dir):
    assert DataRepository(data_dir, bundled=False).list() == []


def test_import_csv_then_list_and_load(repo, data_dir, csv_file, make_bars):
    info = repo.import_file(csv_file, "btc-usd", "1H")
    expected = make_bars("2024-01-03 08:00", 40, "h")
    assert info == DatasetInfo(
        "BTC-USD", "1h", 40, expected.index[0], expected.index[-1], "imported"
    )
    assert (data_dir / "BTC-USD_1h.parquet").is_file()
    assert info in repo.list()
    pd.testing.assert_frame_equal(repo.load("BTC-USD", "1h"), expected, check_freq=False)


def test_import_parquet(repo, tmp_path, make_bars):
    bars = make_bars("2024-01-01", 10, "D")
    bars.to_parquet(tmp_path / "daily.parquet")
    repo.import_file(tmp_path / "daily.parquet", "XYZ", "1d")
    pd.testing.assert_frame_equal(repo.load("xyz", "1d"), bars, check_freq=False)


def test_imported_data_wins_over_bundled(repo, csv_file):
    repo.import_file(csv_file, "EURUSD", "1h")
    eurusd = [info for info in repo.list() if info.symbol == "EURUSD"]
    assert [(i.timeframe, i.bars, i.source) for i in eurusd] == [("1h", 40, "imported")]
    assert len(repo.load("EURUSD", "1h")) == 40


def test_failed_import_leaves_stored_file_byte_identical(repo, data_dir, csv_file, tmp_path):
    repo.import_file(csv_file, "ABC", "1h")
    stored = data_dir / "ABC_1h.parquet"
    before = stored.read_bytes()
    broken = tmp_path / "broken.csv"
    broken.write_text(csv_file.read_text().replace(",100.0,", ",-5.0,", 1))
    with pytest.raises(DataError, match="row 1"):
        repo.import_file(broken, "ABC", "1h")
    assert stored.read_bytes() == before
    assert sorted(p.name for p in data_dir.iterdir()) == ["ABC_1h.parquet"]


def test_write_failure_leaves_stored_file_and_no_temp(repo, data_dir, csv_file, monkeypatch):
    repo.import_file(csv_file, "ABC", "1h")
    stored = data_dir / "ABC_1h.parquet"
    before = stored.read_bytes()

    def half_written(self, path, **kwargs):
        Path(path).write_bytes(b"PAR1 partial")
        raise OSError("disk full")

    monkeypatch.setattr(pd.DataFrame, "to_parquet", half_written)
    with pytest.raises(OSError, match="disk full"):
        repo.import_file(csv_file, "ABC", "1h")
    assert stored.read_bytes() == before
    assert sorted(p.name for p in data_dir.iterdir()) == ["ABC_1h.parquet"]


def test_import_refuses_mismatched_timeframe(repo, csv_file, data_dir):
    with pytest.raises(ValidationError, match="does not match timeframe 1d"):
        repo.import_file(csv_file, "ABC", "1d")
    assert not (data_dir / "ABC_1d.parquet").exists()


@pytest.mark.parametrize(
    "symbol", ["../etc", "a/b", "..", ".hidden", "", "EUR USD", "x" * 33, "C:\\x", "-abc"]
)
def test_unsafe_symbols_refused(repo, csv_file, data_dir, symbol):
    with pytest.raises(ValidationError, match="invalid symbol"):
        repo.import_file(csv_file, symbol, "1h")
    with pytest.raises(ValidationError, match="invalid symbol"):
        repo.load(symbol, "1h")
    with pytest.raises(ValidationError, match="invalid symbol"):
        repo.available_range(symbol, "1h")
    assert not data_dir.exists()


def test_unknown_symbol_lists_available(repo):
    with pytest.raises(NotFoundError) as caught:
        repo.load("XYZ", "1h")
    message = caught.value.message
    assert "no XYZ 1h data" in message
    available = ["BTCUSD 1h", "EURUSD 1h", "GOOG 1d", "NASDAQ 1d", "SP500 1d"]
    assert f"available: {', '.join(available)}" in message
    assert caught.value.details["available"] == available


def test_lower_timeframe_than_stored_is_not_found(repo):
    with pytest.raises(NotFoundError, match="EURUSD is stored at 1h, and only higher"):
        repo.load("EURUSD", "15m")


@pytest.mark.parametrize(
    ("symbol", "source", "target"), [("EURUSD", "1h", "4h"), ("GOOG", "1d", "1w")]
)
def test_higher_timeframe_resampled_on_load(repo, symbol, source, target):
    expected = resample_bars(repo.load(symbol, source), target)
    pd.testing.assert_frame_equal(repo.load(symbol, target), expected)
    assert repo.available_range(symbol, target) == (expected.index[0], expected.index[-1])


def test_resamples_from_highest_stored_lower_timeframe(repo, tmp_path, make_bars):
    make_bars("2024-01-01", 48, "h").to_csv(tmp_path / "h.csv")
    make_bars("2024-01-01", 12, "4h", first_open=500.0).to_csv(tmp_path / "4h.csv")
    repo.import_file(tmp_path / "h.csv", "ABC", "1h")
    repo.import_file(tmp_path / "4h.csv", "ABC", "4h")
    assert repo.load("ABC", "1d")["open"].tolist() == [500.0, 506.0]


def test_available_range(repo):
    assert repo.available_range("GOOG", "1d") == (_utc("2004-08-19"), _utc("2013-03-01"))


def test_date_only_end_includes_whole_day(repo):
    bars = repo.load("EURUSD", "1h", start="2017-04-20", end="2017-04-20")
    assert bars.index[0] == _utc("2017-04-20 00:00")
    assert bars.index[-1] == _utc("2017-04-20 23:00")
    assert len(bars) == 24


@pytest.mark.parametrize(
    ("start", "end", "first", "last"),
    [
        ("2017-04-20 10:00", "2017-04-20 12:00", "2017-04-20 10:00", "2017-04-20 12:00"),
        (
            dt.datetime(2017, 4, 20, 10),
            dt.datetime(2017, 4, 20, 12),
            "2017-04-20 10:00",
            "2017-04-20 12:00",
        ),
        (
            "2017-04-20T12:00+02:00",
            "2017-04-20T14:00+02:00",
            "2017-04-20 10:00",
            "2017-04-20 12:00",
        ),
        (dt.date(2017, 4, 20), dt.date(2017, 4, 20), "2017-04-20 00:00", "2017-04-20 23:00"),
        (None, "2017-04-19 11:00", "2017-04-19 09:00", "2017-04-19 11:00"),
        ("2018-02-07 14:00", None, "2018-02-07 14:00", "2018-02-07 15:00"),
    ],
)
def test_slicing_bounds(repo, start, end, first, last):
    bars = repo.load("EURUSD", "1h", start, end)
    assert (bars.index[0], bars.index[-1]) == (_utc(first), _utc(last))


def test_empty_slice_names_both_ranges(repo):
    with pytest.raises(DataError) as caught:
        repo.load("GOOG", "1d", "2020-01-01", "2020-02-01")
    assert caught.value.message == (
        "no GOOG 1d bars between 2020-01-01 and 2020-02-01; the data covers "
        "2004-08-19 00:00:00+00:00 to 2013-03-01 00:00:00+00:00"
    )


@pytest.mark.parametrize(
    ("start", "end", "words"),
    [("2018-02-01", "2018-01-01", "is after"), ("soon", None, "not a date")],
)
def test_bad_bounds_refused(repo, start, end, words):
    with pytest.raises(ValidationError, match=words):
        repo.load("EURUSD", "1h", start, end)


def test_loaded_frames_are_independent_copies(repo):
    first = repo.load("GOOG", "1d")
    first.iloc[0, 0] = -1.0
    first.index.name = "changed"
    again = repo.load("GOOG", "1d")
    assert again.iloc[0, 0] == 100.0
    assert again.index.name == "timestamp"


def test_reimport_replaces_cached_data(repo, tmp_path, make_bars):
    make_bars("2024-01-01", 5, "h").to_csv(tmp_path / "a.csv")
    make_bars("2024-01-01", 7, "h", first_open=50.0).to_csv(tmp_path / "b.csv")
    repo.import_file(tmp_path / "a.csv", "ABC", "1h")
    assert len(repo.load("ABC", "1h")) == 5
    repo.import_file(tmp_path / "b.csv", "ABC", "1h")
    reloaded = repo.load("ABC", "1h")
    assert (len(reloaded), reloaded["open"].iloc[0]) == (7, 50.0)


def test_foreign_files_in_data_dir_are_ignored(repo, data_dir, csv_file):
    repo.import_file(csv_file, "ABC", "1h")
    (data_dir / "notes.parquet").write_bytes(b"x")
    (data_dir / "ABC_3h.parquet").write_bytes(b"x")
    assert [i.symbol for i in repo.list()].count("ABC") == 1


def test_stored_file_parsed_once_until_it_changes(repo, csv_file, monkeypatch):
    from ktrdr.data import _cache

    calls = []
    real_read = _cache.read_bars_file
    monkeypatch.setattr(
        _cache, "read_bars_file", lambda path: calls.append(path) or real_read(path)
    )
    repo.import_file(csv_file, "ABC", "1h")
    repo.load("ABC", "1h")
    repo.load("ABC", "1h", start="2024-01-04")
    repo.list()
    assert len(calls) == 1
    repo.import_file(csv_file, "ABC", "1h")
    repo.load("ABC", "1h")
    assert len(calls) == 2
