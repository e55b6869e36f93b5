"""A backtest's files: ``backtests/<op_id>/trades.parquet`` and ``equity.parquet``."""

from __future__ import annotations

import os
import uuid
from pathlib import Path

import numpy as np
import pandas as pd

from ktrdr.backtesting.simulator import SimulationResult

TRADES_FILE = "trades.parquet"
EQUITY_FILE = "equity.parquet"


def write_parquet_atomically(frame: pd.DataFrame, target: Path) -> None:
    """Write ``frame`` to a hidden temp file next to ``target``, then rename it into place."""
    temporary = target.with_name(f".{target.name}.{uuid.uuid4().hex}.tmp")
    try:
        frame.to_parquet(temporary)
        os.replace(temporary, target)
    finally:
        temporary.unlink(missing_ok=True)


def equity_frame(result: SimulationResult, target_position: np.ndarray) -> pd.DataFrame:
    """Equity at each close and the position decided at that close (-1, 0, +1)."""
    return pd.DataFrame(
        {"equity": result.equity.to_numpy(), "target_position": target_position.astype(np.int8)},
        index=result.equity.index,
    )


def save_artifacts(
    directory: Path, result: SimulationResult, target_position: np.ndarray
) -> dict[str, str]:
    """Write the trades and the equity curve into ``directory``; their paths by kind."""
    directory.mkdir(parents=True, exist_ok=True)
    trades, equity = directory / TRADES_FILE, directory / EQUITY_FILE
    write_parquet_atomically(result.trades, trades)
    write_parquet_atomically(equity_frame(result, target_position), equity)
    return {"trades": str(trades), "equity": str(equity)}
