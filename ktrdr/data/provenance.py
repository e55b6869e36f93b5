"""Where a data set came from: ``<SYMBOL>_<tf>.provenance.json`` beside its Parquet file."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from ktrdr.files import write_text_atomically

MAX_RUNS_KEPT = 100


def provenance_path(data_file: Path) -> Path:
    """``BTC-USDT_1h.parquet`` -> ``BTC-USDT_1h.provenance.json``."""
    return data_file.with_name(data_file.name.removesuffix(".parquet") + ".provenance.json")


def read_provenance(data_file: Path) -> dict[str, Any] | None:
    """The provenance stored beside ``data_file``, or None for imported or bundled data."""
    path = provenance_path(data_file)
    if not path.is_file():
        return None
    return json.loads(path.read_text(encoding="utf-8"))


def record_run(data_file: Path, base: dict[str, Any], run: dict[str, Any]) -> dict[str, Any]:
    """Store ``base`` (source, exchange, symbol, request) with ``run`` appended to its runs."""
    previous = read_provenance(data_file) or {}
    runs = [*previous.get("runs", []), run][-MAX_RUNS_KEPT:]
    provenance = {**base, "fetched_at": run["fetched_at"], "runs": runs}
    text = json.dumps(provenance, indent=2, sort_keys=True)
    write_text_atomically(provenance_path(data_file), text)
    return provenance
