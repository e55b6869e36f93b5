"""What the backtest jobs share: loading a bundle sent by folder or by files, JSON metrics."""

from __future__ import annotations

import math
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from ktrdr.backtesting.metrics import Metrics
from ktrdr.training.predictor import Predictor


def predictor_from_files(files: Mapping[str, bytes]) -> Predictor:
    """The predictor of a bundle sent as ``bundle_files``, checked like one read from disk."""
    with tempfile.TemporaryDirectory(prefix="ktrdr-bundle-") as folder:
        for name, data in files.items():
            (Path(folder) / Path(name).name).write_bytes(data)
        return Predictor.load(folder)


def load_predictor(entry: Mapping[str, Any]) -> Predictor:
    """The predictor of a request entry: its ``model_files`` if sent, else its ``model_path``."""
    files = entry.get("model_files")
    return predictor_from_files(files) if files is not None else Predictor.load(entry["model_path"])


def json_number(value: float | int | None) -> float | int | None:
    """A metric as JSON allows it: NaN and inf become None, numpy scalars plain numbers."""
    if value is None or isinstance(value, int):
        return value
    number = float(value)
    return number if math.isfinite(number) else None


def json_metrics(metrics: Metrics) -> dict[str, float | int | None]:
    """Every metric as :func:`json_number` makes it."""
    return {name: json_number(value) for name, value in metrics.items()}


def portfolio_summary(symbol_metrics: Mapping[str, Metrics] | None) -> dict[str, Any]:
    """What a portfolio adds to the summary: its ``symbols`` and each one's metrics
    (``symbol_metrics``); nothing for one symbol (None)."""
    if symbol_metrics is None:
        return {}
    return {
        "symbols": list(symbol_metrics),
        "symbol_metrics": {symbol: json_metrics(m) for symbol, m in symbol_metrics.items()},
    }
