"""Per-bar returns of a backtest's stored equity curve (``backtests/<op_id>/equity.parquet``)."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pandas as pd

from ktrdr.errors import DataError

RETURN_COLUMN = "return"


def equity_returns(path: str | None, *, owner: str, purpose: str) -> pd.Series:
    """Returns e[t]/e[t-1] − 1 of an equity artifact, indexed by the bar time of e[t].

    A DataError names the file, ``owner`` ("the holdout backtest") and what needs it
    (``purpose``) when it is missing. 501 equity values give 500 returns.
    """
    if not path or not Path(path).is_file():
        raise DataError(
            f"{owner}'s equity file {path or '(none)'} is missing: {purpose} needs the per-bar "
            "returns"
        )
    equity = pd.read_parquet(path)["equity"]
    values = equity.to_numpy(dtype=np.float64)
    returns = values[1:] / values[:-1] - 1.0 if len(values) > 1 else np.empty(0)
    return pd.Series(returns, index=equity.index[1:], name=RETURN_COLUMN)


def returns_to_parquet(returns: pd.Series) -> bytes:
    """Per-bar returns as compressed parquet bytes (bar times kept), for a database column."""
    buffer = io.BytesIO()
    returns.rename(RETURN_COLUMN).to_frame().to_parquet(buffer, compression="zstd")
    return buffer.getvalue()


def returns_from_parquet(blob: bytes) -> pd.Series:
    """The returns ``returns_to_parquet`` wrote, indexed by bar time."""
    return pd.read_parquet(io.BytesIO(blob))[RETURN_COLUMN]
