"""A backtest's files: ``backtests/<op_id>/trades.parquet`` and ``equity.parquet``."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from ktrdr.backtesting.simulator import SimulationResult
from ktrdr.files import write_atomically

TRADES_FILE = "trades.parquet"
EQUITY_FILE = "equity.parquet"
TARGET_COLUMN = "target_position"


def equity_frame(
    result: SimulationResult,
    target_position: np.ndarray | pd.DataFrame,
    close: pd.Series | None = None,
) -> pd.DataFrame:
    """Equity at each close and the position decided at that close (-1, 0, +1), or one
    ``target_position.<SYMBOL>`` column per symbol for a portfolio; a single market also keeps
    its close price (the buy-and-hold line of the report)."""
    frame = pd.DataFrame({"equity": result.equity.to_numpy()}, index=result.equity.index)
    if isinstance(target_position, pd.DataFrame):
        frame = frame.join(target_position.add_prefix(f"{TARGET_COLUMN}.").astype(np.int8))
    else:
        frame[TARGET_COLUMN] = target_position.astype(np.int8)
    if close is not None:
        frame["close"] = close.reindex(result.equity.index).to_numpy(dtype=np.float64)
    return frame


def save_artifacts(
    directory: Path,
    result: SimulationResult,
    target_position: np.ndarray | pd.DataFrame,
    close: pd.Series | None = None,
) -> dict[str, str]:
    """Write the trades and the equity curve into ``directory``; their paths by kind."""
    directory.mkdir(parents=True, exist_ok=True)
    trades, equity = directory / TRADES_FILE, directory / EQUITY_FILE
    write_atomically(trades, result.trades.to_parquet)
    write_atomically(equity, equity_frame(result, target_position, close).to_parquet)
    return {"trades": str(trades), "equity": str(equity)}
