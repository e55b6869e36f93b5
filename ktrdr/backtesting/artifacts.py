"""A backtest's files: ``backtests/<op_id>/trades.parquet`` and ``equity.parquet``."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from ktrdr.backtesting.simulator import SimulationResult
from ktrdr.files import write_atomically

TRADES_FILE = "trades.parquet"
EQUITY_FILE = "equity.parquet"


def equity_frame(
    result: SimulationResult, target_position: np.ndarray, close: pd.Series
) -> pd.DataFrame:
    """Equity at each close, the position decided at that close (-1, 0, +1) and the close
    price itself (the buy-and-hold line of the report)."""
    return pd.DataFrame(
        {
            "equity": result.equity.to_numpy(),
            "target_position": target_position.astype(np.int8),
            "close": close.reindex(result.equity.index).to_numpy(dtype=np.float64),
        },
        index=result.equity.index,
    )


def save_artifacts(
    directory: Path, result: SimulationResult, target_position: np.ndarray, close: pd.Series
) -> dict[str, str]:
    """Write the trades and the equity curve into ``directory``; their paths by kind."""
    directory.mkdir(parents=True, exist_ok=True)
    trades, equity = directory / TRADES_FILE, directory / EQUITY_FILE
    write_atomically(trades, result.trades.to_parquet)
    write_atomically(equity, equity_frame(result, target_position, close).to_parquet)
    return {"trades": str(trades), "equity": str(equity)}
