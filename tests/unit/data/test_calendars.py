"""Expected bars per calendar and the gap report (nothing is filled)."""

from __future__ import annotations

import pandas as pd
import pytest

from ktrdr.data import DataRepository
from ktrdr.data.calendars import check_bars, check_dataset, expected_bars
from ktrdr.errors import ValidationError


def _utc(text: str) -> pd.Timestamp:
    return pd.Timestamp(text, tz="UTC")


def test_crypto_expects_every_bar():
    bars = expected_bars("crypto", _utc("2024-01-06"), _utc("2024-01-07 23:00"), "1h")
    assert len(bars) == 48


def test_fx_is_closed_from_friday_22_to_sunday_22_utc():
    # Friday 2024-01-05 .. Monday 2024-01-08
    bars = expected_bars("fx", _utc("2024-01-05"), _utc("2024-01-08 23:00"), "1h")
    assert bars[bars.day_of_week == 4][-1] == _utc("2024-01-05 21:00")
    assert bars[bars.day_of_week == 6][0] == _utc("2024-01-07 22:00")
    assert not ((bars.day_of_week == 5).any())
    assert len(bars) == 22 + 2 + 24


def test_exchange_sessions_skip_weekends_and_holidays():
    days = expected_bars("XNYS", _utc("2023-12-29"), _utc("2024-01-03"), "1d")
    assert list(days.strftime("%Y-%m-%d")) == ["2023-12-29", "2024-01-02", "2024-01-03"]
    hours = expected_bars("XNYS", _utc("2024-01-02"), _utc("2024-01-02 23:00"), "1h")
    assert hours[0] == _utc("2024-01-02 14:30") and len(hours) == 7


def test_unknown_calendar_is_refused_naming_it():
    with pytest.raises(ValidationError, match="unknown calendar 'XMOON'"):
        expected_bars("XMOON", _utc("2024-01-02"), _utc("2024-01-03"), "1d")


def test_report_lists_missing_ranges_and_zero_volume_runs(make_bars):
    bars = make_bars("2024-01-01", 48, "h")
    bars = bars.drop(bars.index[10:13])
    bars.loc[bars.index[20:24], "volume"] = 0.0

    report = check_bars(bars, "crypto", "1h")

    assert (report["expected"], report["bars"], report["missing"]) == (48, 45, 3)
    assert report["missing_ranges"] == [
        {"first": "2024-01-01T10:00:00+00:00", "last": "2024-01-01T12:00:00+00:00", "bars": 3}
    ]
    assert report["zero_volume_bars"] == 4 and report["zero_volume_runs"][0]["bars"] == 4
    assert report["off_calendar"] == 0


def test_imported_data_needs_a_calendar_named(tmp_path, make_bars):
    repository = DataRepository(tmp_path, bundled=False)
    path = tmp_path / "in.csv"
    make_bars("2024-01-01", 30, "h").to_csv(path)
    repository.import_file(path, "ABC", "1h")

    with pytest.raises(ValidationError, match="calendar is unknown"):
        check_dataset(repository, "ABC", "1h")
    assert check_dataset(repository, "abc", "1h", "crypto")["missing"] == 0
