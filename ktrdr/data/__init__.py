"""Market data: bundled samples, file import, validation, slicing and resampling of OHLCV bars."""

from __future__ import annotations

from ktrdr.data.import_service import dataset_dict, import_upload
from ktrdr.data.io import read_bars_file
from ktrdr.data.repository import DataRepository, DatasetInfo, canonical_symbol, slice_bars
from ktrdr.data.resample import close_times, resample_bars
from ktrdr.data.timeframes import TIMEFRAMES, canonical_timeframe, parse_timeframe
from ktrdr.data.validation import BAR_COLUMNS, validate_bars
from ktrdr.data.windows import DataWindow, DataWindows

__all__ = [
    "BAR_COLUMNS",
    "TIMEFRAMES",
    "DataRepository",
    "DataWindow",
    "DataWindows",
    "DatasetInfo",
    "canonical_symbol",
    "canonical_timeframe",
    "close_times",
    "dataset_dict",
    "import_upload",
    "parse_timeframe",
    "read_bars_file",
    "resample_bars",
    "slice_bars",
    "validate_bars",
]
