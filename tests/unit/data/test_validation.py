from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from ktrdr.data import validate_bars
from ktrdr.errors import DataError


def test_valid_bars_pass(hourly):
    validate_bars(hourly, source="t")


@pytest.mark.parametrize(
    ("column", "value", "row", "rule", "words"),
    [
        ("high", 100.0, 4, "high_below_body", "high 100.0 < max(open, close) 103.5"),
        ("low", 200.0, 4, "low_above_body", "low 200.0 > min(open, close) 103.0"),
        ("close", np.nan, 4, "not_finite", "close is nan"),
        ("open", np.inf, 4, "not_finite", "open is inf"),
        ("volume", -1.0, 4, "negative_volume", "negative volume -1.0"),
    ],
)
def test_value_violation_names_row_and_timestamp(make_bars, column, value, row, rule, words):
    bars = make_bars("2024-01-03 08:00", 6, "h")
    bars.iloc[3, bars.columns.get_loc(column)] = value
    stamp = "2024-01-03 11:00:00+00:00"
    with pytest.raises(DataError) as caught:
        validate_bars(bars, source="EURUSD.csv")
    message = caught.value.message
    assert message.startswith(f"EURUSD.csv: row {row} ({stamp})")
    assert words in message
    assert caught.value.details == {
        "source": "EURUSD.csv",
        "row": row,
        "timestamp": stamp,
        "rule": rule,
    }


def test_duplicate_timestamp_names_second_occurrence(make_bars):
    bars = make_bars("2024-01-03 08:00", 5, "h")
    bars.index = bars.index.where(bars.index != bars.index[3], bars.index[2])
    with pytest.raises(DataError, match=r"row 4 \(2024-01-03 10:00:00\+00:00\): duplicate"):
        validate_bars(bars, source="s")


def test_unsorted_timestamp_names_row(make_bars):
    bars = make_bars("2024-01-03 08:00", 5, "h").iloc[[0, 1, 3, 2, 4]]
    with pytest.raises(DataError, match=r"row 4 \(2024-01-03 10:00:00\+00:00\): timestamps not"):
        validate_bars(bars, source="s")


def test_counts_further_offending_rows(make_bars):
    bars = make_bars("2024-01-03 08:00", 5, "h")
    bars["volume"] = -1.0
    with pytest.raises(DataError, match=r"row 1 .* \(4 more rows like it\)"):
        validate_bars(bars, source="s")


def test_missing_columns_named(hourly):
    with pytest.raises(DataError, match="missing columns close, volume") as caught:
        validate_bars(hourly.drop(columns=["close", "volume"]), source="s")
    assert caught.value.details["missing"] == ["close", "volume"]


def test_empty_bars_refused(hourly):
    with pytest.raises(DataError, match="s: no bars"):
        validate_bars(hourly.iloc[:0], source="s")


@pytest.mark.parametrize(
    "index",
    [
        pd.RangeIndex(3),
        pd.date_range("2024-01-01", periods=3, freq="h"),
        pd.date_range("2024-01-01", periods=3, freq="h", tz="Europe/Berlin"),
    ],
)
def test_index_must_be_utc_datetimes(make_bars, index):
    bars = make_bars("2024-01-01", 3, "h")
    bars.index = index
    with pytest.raises(DataError, match="UTC DatetimeIndex"):
        validate_bars(bars, source="s")
