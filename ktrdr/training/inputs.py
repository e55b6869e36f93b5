"""Torch-free inputs of the training job: its import path and bar loading."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pandas as pd

from ktrdr.data import DataRepository

JOB_PATH = "ktrdr.training.job:run_training_job"

BarsBySymbol = Mapping[str, Mapping[str, pd.DataFrame]]


def load_bars(repository: DataRepository, request: dict[str, Any]) -> BarsBySymbol:
    """Bars of every requested symbol and timeframe, sliced to the request's date range."""
    return {
        symbol: {
            tf: repository.load(symbol, tf, request.get("start_date"), request.get("end_date"))
            for tf in request["timeframes"]
        }
        for symbol in request["symbols"]
    }
