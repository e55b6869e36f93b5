from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from ktrdr.data import BAR_COLUMNS, read_bars_file
from ktrdr.errors import DataError, NotFoundError, ValidationError

EXPECTED_INDEX = pd.DatetimeIndex(
    ["2024-01-03 08:00", "2024-01-03 09:00", "2024-01-03 10:00"], tz="UTC", name="timestamp"
)
HEADER = "timestamp,open,high,low,close,volume\n"
ROWS = ["1.10,1.20,1.00,1.15,100", "1.15,1.25,1.10,1.20,200", "1.20,1.30,1.15,1.25,0"]


def _write(tmp_path, text: str, name: str = "bars.csv"):
    path = tmp_path / name
    path.write_text(text)
    return path


def _assert_bars(bars: pd.DataFrame, index: pd.DatetimeIndex = EXPECTED_INDEX) -> None:
    assert list(bars.columns) == list(BAR_COLUMNS)
    assert all(dtype == np.float64 for dtype in bars.dtypes)
    pd.testing.assert_index_equal(bars.index, index, check_exact=True)
    assert bars["close"].tolist() == [1.15, 1.20, 1.25]
    assert bars["volume"].tolist()[:2] == [100.0, 200.0]


@pytest.mark.parametrize(
    ("header", "stamps"),
    [
        (
            "timestamp,open,high,low,close,volume",
            ["2024-01-03 08:00:00", "2024-01-03 09:00:00", "2024-01-03 10:00"],
        ),
        (
            "Date,Open,High,Low,Close,Volume",
            ["2024-01-03T08:00", "2024-01-03T09:00", "2024-01-03T10:00"],
        ),
        ("DATETIME,O,H,L,C,V", ["2024-01-03 08:00", "2024-01-03 09:00", "2024-01-03 10:00"]),
        ("time,open,high,low,close,vol", ["1704268800", "1704272400", "1704276000"]),
        ("ts,open,high,low,close,volume", ["1704268800000", "1704272400000", "1704276000000"]),
    ],
)
def test_csv_with_header_and_synonyms(tmp_path, header, stamps):
    lines = [header] + [f"{s},{row}" for s, row in zip(stamps, ROWS, strict=True)]
    _assert_bars(read_bars_file(_write(tmp_path, "\n".join(lines) + "\n")))


def test_csv_without_header(tmp_path):
    stamps = ["2024-01-03 08:00:00", "2024-01-03 09:00:00", "2024-01-03 10:00:00"]
    lines = [f"{s},{row}" for s, row in zip(stamps, ROWS, strict=True)]
    _assert_bars(read_bars_file(_write(tmp_path, "\n".join(lines))))


def test_headerless_epoch_seconds(tmp_path):
    lines = [f"{1704268800 + 3600 * i},{row}" for i, row in enumerate(ROWS)]
    _assert_bars(read_bars_file(_write(tmp_path, "\n".join(lines))))


def test_semicolon_separated_with_split_date_and_time_and_extra_columns(tmp_path):
    text = (
        "<DATE>;<TIME>;<OPEN>;<HIGH>;<LOW>;<CLOSE>;<VOL>;<SPREAD>\n"
        "2024.01.03;08:00;1.10;1.20;1.00;1.15;100;2\n"
        "2024.01.03;09:00;1.15;1.25;1.10;1.20;200;2\n"
        "2024.01.03;10:00;1.20;1.30;1.15;1.25;0;2\n"
    )
    _assert_bars(read_bars_file(_write(tmp_path, text)))


def test_tz_aware_timestamps_converted_to_utc(tmp_path):
    text = (
        "timestamp,open,high,low,close,volume\n"
        "2024-01-03 09:00:00+01:00,1.10,1.20,1.00,1.15,100\n"
        "2024-01-03T05:00:00-04:00,1.15,1.25,1.10,1.20,200\n"
        "2024-01-03 10:00:00Z,1.20,1.30,1.15,1.25,0\n"
    )
    _assert_bars(read_bars_file(_write(tmp_path, text)))


def test_yyyymmdd_dates(tmp_path):
    text = "date,open,high,low,close\n20240103,1,2,0.5,1.5\n20240104,1.5,2,1,1.8\n"
    bars = read_bars_file(_write(tmp_path, text))
    assert bars.index.tolist() == [
        pd.Timestamp("2024-01-03", tz="UTC"),
        pd.Timestamp("2024-01-04", tz="UTC"),
    ]
    assert bars["volume"].tolist() == [0.0, 0.0]


@pytest.mark.parametrize("index_tz", [None, "UTC", "America/New_York"])
def test_parquet_with_datetime_index(tmp_path, make_bars, index_tz):
    bars = make_bars("2024-01-03 08:00", 4, "h")
    stored = bars.copy()
    stored.index = bars.index.tz_convert(index_tz) if index_tz else bars.index.tz_localize(None)
    stored["volume"] = stored["volume"].astype(np.int64)
    path = tmp_path / "bars.parquet"
    stored.to_parquet(path)
    pd.testing.assert_frame_equal(read_bars_file(path), bars, check_freq=False)


def test_parquet_with_epoch_ms_column(tmp_path, make_bars):
    bars = make_bars("2024-01-03 08:00", 4, "h")
    table = bars.reset_index()
    table["timestamp"] = bars.index.asi8 // 1000  # microseconds -> milliseconds
    table.columns = ["Time", "Open", "High", "Low", "Close", "Volume"]
    path = tmp_path / "bars.pq"
    table.to_parquet(path, index=False)
    pd.testing.assert_frame_equal(read_bars_file(path), bars, check_freq=False)


def test_bad_timestamp_names_row(tmp_path):
    text = HEADER + "2024-01-03,1,2,0.5,1.5,1\nyesterday,1,2,0.5,1.5,1\n"
    with pytest.raises(DataError, match=r"row 2: cannot read timestamp 'yesterday'"):
        read_bars_file(_write(tmp_path, text))


def test_non_numeric_price_names_row(tmp_path):
    text = HEADER + "2024-01-03,1,2,0.5,1.5,1\n2024-01-04,1,2x,0.5,1.5,1\n"
    with pytest.raises(
        DataError, match=r"row 2 \(2024-01-04 00:00:00\+00:00\): high '2x' is not a number"
    ):
        read_bars_file(_write(tmp_path, text))


def test_empty_cell_is_reported_by_validation(tmp_path):
    text = HEADER + "2024-01-03,1,2,0.5,1.5,1\n2024-01-04,1,2,0.5,,1\n"
    with pytest.raises(DataError, match=r"row 2 \(2024-01-04 00:00:00\+00:00\): close is nan"):
        read_bars_file(_write(tmp_path, text))


def test_missing_required_column(tmp_path):
    text = "timestamp,open,high,low,volume\n2024-01-03,1,2,0.5,1\n"
    with pytest.raises(DataError, match="no column for close; found columns timestamp, open"):
        read_bars_file(_write(tmp_path, text))


def test_headerless_with_wrong_width(tmp_path):
    with pytest.raises(DataError, match="found 3 columns"):
        read_bars_file(_write(tmp_path, "2024-01-03,1,2\n"))


def test_empty_file(tmp_path):
    with pytest.raises(DataError, match="the file is empty"):
        read_bars_file(_write(tmp_path, ""))


def test_header_only_file_has_no_bars(tmp_path):
    with pytest.raises(DataError, match="no bars"):
        read_bars_file(_write(tmp_path, "timestamp,open,high,low,close,volume\n"))


def test_missing_file(tmp_path):
    with pytest.raises(NotFoundError, match="no such file"):
        read_bars_file(tmp_path / "absent.csv")


def test_unsupported_suffix(tmp_path):
    with pytest.raises(ValidationError, match=r"unsupported file type '.xlsx'.*\.csv, \.parquet"):
        read_bars_file(_write(tmp_path, "x", name="bars.xlsx"))


def test_corrupt_parquet(tmp_path):
    with pytest.raises(DataError, match="not a readable Parquet file"):
        read_bars_file(_write(tmp_path, "not parquet", name="bars.parquet"))
