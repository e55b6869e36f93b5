from __future__ import annotations

import pandas as pd
import pytest

from ktrdr.data import close_times, resample_bars, validate_bars
from ktrdr.errors import DataError, ValidationError


def _utc(*stamps: str) -> pd.DatetimeIndex:
    return pd.DatetimeIndex(stamps, tz="UTC", name="timestamp")


def test_1h_to_4h_aggregates_and_drops_incomplete_last_bin(hourly):
    # 08:00..17:00: bins 08-12 and 12-16 are complete; 16-20 ends after the 18:00 close.
    result = resample_bars(hourly, "4h")
    pd.testing.assert_index_equal(result.index, _utc("2024-01-03 08:00", "2024-01-03 12:00"))
    assert result.loc["2024-01-03 08:00"].tolist() == [100.0, 104.5, 99.0, 103.5, 100.0]
    assert result.loc["2024-01-03 12:00"].tolist() == [104.0, 108.5, 103.0, 107.5, 260.0]
    validate_bars(result, source="resampled")


def test_last_bin_kept_when_it_closes_with_the_data(make_bars):
    result = resample_bars(make_bars("2024-01-03 08:00", 8, "h"), "4h")
    assert result.index[-1] == pd.Timestamp("2024-01-03 12:00", tz="UTC")
    assert result["volume"].iloc[-1] == 50.0 + 60.0 + 70.0 + 80.0


def test_bins_align_to_utc_midnight_not_to_first_bar(make_bars):
    result = resample_bars(make_bars("2024-01-03 09:00", 7, "h"), "4h")
    # 09..11 fall in the 08:00 bin (partial first bin kept), 12..15 in the 12:00 bin.
    pd.testing.assert_index_equal(result.index, _utc("2024-01-03 08:00", "2024-01-03 12:00"))
    assert result["open"].tolist() == [100.0, 103.0]
    assert result["volume"].tolist() == [10.0 + 20.0 + 30.0, 40.0 + 50.0 + 60.0 + 70.0]


def test_1h_to_1d_skips_weekend(make_bars):
    friday = make_bars("2024-01-05 20:00", 4, "h")
    monday = make_bars("2024-01-08 00:00", 25, "h", first_open=200.0)
    result = resample_bars(pd.concat([friday, monday]), "1d")
    # Saturday and Sunday have no bars and no bins; Tuesday (one bar) is incomplete and dropped.
    pd.testing.assert_index_equal(result.index, _utc("2024-01-05", "2024-01-08"))
    assert result.loc["2024-01-05"].tolist() == [100.0, 104.5, 99.0, 103.5, 100.0]
    assert result.loc["2024-01-08", "open"] == 200.0
    assert result.loc["2024-01-08", "close"] == 223.5


def test_1d_to_1w_bins_start_on_monday(make_bars):
    days = make_bars("2024-01-03", 14, "D")  # Wednesday 3rd to Tuesday 16th
    result = resample_bars(days, "1w")
    # The week of Monday 15th ends on the 22nd, after the last close (17th): dropped.
    pd.testing.assert_index_equal(result.index, _utc("2024-01-01", "2024-01-08"))
    assert result["open"].tolist() == [100.0, 105.0]
    assert result["close"].tolist() == [104.5, 111.5]
    assert all(stamp.day_name() == "Monday" for stamp in result.index)


def test_same_timeframe_returns_equal_copy(hourly):
    result = resample_bars(hourly, "1h")
    pd.testing.assert_frame_equal(result, hourly)
    assert result is not hourly


def test_lower_target_refused(hourly):
    with pytest.raises(ValidationError, match="cannot resample 1h bars down to 30m"):
        resample_bars(hourly, "30m")


def test_target_not_a_multiple_of_inferred_source(make_bars):
    with pytest.raises(ValidationError, match="not a whole number of source bars"):
        resample_bars(make_bars("2024-01-03", 6, "3h"), "4h")


def test_source_timeframe_overrides_inference(make_bars):
    single = make_bars("2024-01-03 08:00", 1, "h")
    with pytest.raises(ValidationError, match="pass source_timeframe"):
        resample_bars(single, "1d")
    gappy = make_bars("2024-01-03 00:00", 2, "2h")
    result = resample_bars(gappy, "4h", source_timeframe="1h")
    # With 1h bars the last bar closes at 03:00, before the 00:00 bin ends at 04:00.
    assert result.empty


def test_empty_bars_refused(hourly):
    with pytest.raises(DataError, match="empty"):
        resample_bars(hourly.iloc[:0], "4h")


def test_close_times_are_open_plus_timeframe(hourly):
    closes = close_times(resample_bars(hourly, "4h"), "4h")
    assert closes.name == "close_time"
    assert closes.tolist() == [
        pd.Timestamp("2024-01-03 12:00", tz="UTC"),
        pd.Timestamp("2024-01-03 16:00", tz="UTC"),
    ]
