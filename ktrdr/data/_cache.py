"""Per-process caches of parsed bars: bundled samples by name, stored files by (path, mtime)."""

from __future__ import annotations

import gzip
import threading
from collections import OrderedDict
from functools import cache
from importlib import resources
from pathlib import Path

import pandas as pd

from ktrdr.data.io import read_bars_file, read_bars_stream

SAMPLES_PACKAGE = "ktrdr.data"
SAMPLES_FOLDER = "samples"
SAMPLE_SUFFIXES = (".csv", ".csv.gz")  # gzip-compressed CSV for the larger samples
MAX_CACHED_FILES = 32

_lock = threading.Lock()
_files: OrderedDict[tuple[str, int, int, int], pd.DataFrame] = OrderedDict()


def bundled_sample_names() -> list[str]:
    """Return the file names of the bundled samples, e.g. ["BTCUSD_1h.csv.gz", "EURUSD_1h.csv"]."""
    folder = resources.files(SAMPLES_PACKAGE).joinpath(SAMPLES_FOLDER)
    return sorted(item.name for item in folder.iterdir() if item.name.endswith(SAMPLE_SUFFIXES))


def bundled_sample(name: str) -> pd.DataFrame:
    """Return a copy of the parsed bundled sample ``name`` (parsed once per process)."""
    return _parse_bundled(name).copy()


@cache
def _parse_bundled(name: str) -> pd.DataFrame:
    resource = resources.files(SAMPLES_PACKAGE).joinpath(SAMPLES_FOLDER).joinpath(name)
    source = f"bundled sample {name}"
    with resource.open("rb") as stream:
        if name.endswith(".gz"):
            with gzip.GzipFile(fileobj=stream) as unzipped:
                return read_bars_stream(unzipped, source=source, parquet=False)
        return read_bars_stream(stream, source=source, parquet=False)


def read_cached(path: Path) -> pd.DataFrame:
    """Return a copy of the bars in ``path``, re-read only when its mtime, size or inode change."""
    status = path.stat()
    key = (str(path.resolve()), status.st_mtime_ns, status.st_size, status.st_ino)
    with _lock:
        if key in _files:
            _files.move_to_end(key)
            return _files[key].copy()
    bars = read_bars_file(path)
    with _lock:
        for stale in [k for k in _files if k[0] == key[0]]:
            del _files[stale]
        _files[key] = bars
        while len(_files) > MAX_CACHED_FILES:
            _files.popitem(last=False)
    return bars.copy()
