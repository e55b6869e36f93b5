"""Artifact frames and operation JSON for report tests, shaped as the jobs write them."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd


def bars_frame(n: int = 600, start: str = "2018-01-01") -> pd.DataFrame:
    """Hourly OHLC bars of a random walk."""
    rng = np.random.default_rng(7)
    close = 1.2 * np.exp(np.cumsum(rng.normal(0, 0.001, n)))
    index = pd.date_range(start, periods=n, freq="h", tz="UTC")
    open_ = np.concatenate([[close[0]], close[:-1]])
    return pd.DataFrame(
        {
            "open": open_,
            "high": np.maximum(open_, close) * 1.0005,
            "low": np.minimum(open_, close) * 0.9995,
            "close": close,
        },
        index=index,
    )


def equity_frame(bars: pd.DataFrame) -> pd.DataFrame:
    """An equity artifact (equity, target_position, close) over ``bars``."""
    returns = np.random.default_rng(3).normal(0.0001, 0.002, len(bars))
    return pd.DataFrame(
        {
            "equity": 100_000 * np.cumprod(1 + returns),
            "target_position": np.resize(np.array([1, 1, 0, -1], dtype=np.int8), len(bars)),
            "close": bars["close"].to_numpy(),
        },
        index=bars.index,
    )


def trades_frame(bars: pd.DataFrame, n: int = 20, with_reason: bool = True) -> pd.DataFrame:
    """A trades artifact of ``n`` round trips, each 5 bars long."""
    entries = np.linspace(0, len(bars) - 10, n).astype(int)
    frame = pd.DataFrame(
        {
            "entry_time": bars.index[entries],
            "exit_time": bars.index[entries + 5],
            "entry_price": bars["open"].to_numpy()[entries],
            "exit_price": bars["open"].to_numpy()[entries + 5],
            "direction": np.where(np.arange(n) % 2 == 0, 1, -1),
            "size": 1000.0,
            "pnl": np.linspace(-50, 80, n),
            "return": np.linspace(-0.01, 0.02, n),
            "costs": 1.0,
            "bars_held": 5,
            "open_at_end": False,
        }
    )
    if with_reason:
        reasons = ["signal", "stop", "take_profit", "trailing_stop"]
        frame["exit_reason"] = [reasons[i % 4] for i in range(n)]
    return frame


def history_frame() -> pd.DataFrame:
    """A training history artifact: two folds and the final model, 5 epochs each."""
    rows = []
    for model in ("fold 1", "fold 2", "final"):
        for epoch in range(1, 6):
            rows.append((model, epoch, 1.1 - 0.02 * epoch, 1.12 - 0.01 * epoch, 0.4 + 0.01 * epoch))
    return pd.DataFrame(rows, columns=["model", "epoch", "train_loss", "val_loss", "val_accuracy"])


CONFUSION = {
    "sell": {"sell": 5, "hold": 1, "buy": 2},
    "hold": {"sell": 0, "hold": 3, "buy": 1},
    "buy": {"sell": 2, "hold": 0, "buy": 6},
}
METRICS = {
    "total_return": 0.05,
    "sharpe_ratio": 1.2,
    "max_drawdown": 0.04,
    "total_trades": 20,
    "win_rate": 0.55,
}


def backtest_operation(bars: pd.DataFrame, *, folds: bool = False) -> dict[str, Any]:
    """The JSON of a completed backtesting operation."""
    summary: dict[str, Any] = {
        "mode": "walk_forward" if folds else "range",
        "metrics": METRICS,
        "start_date": bars.index[0].isoformat(),
        "end_date": bars.index[-1].isoformat(),
        "bars": len(bars),
        "artifacts": {"trades": "/nowhere/trades.parquet", "equity": "/nowhere/equity.parquet"},
    }
    if folds:
        half = len(bars) // 2
        summary["folds"] = [
            {"fold": 1, "start_date": bars.index[0].isoformat(),
             "end_date": bars.index[half - 1].isoformat(), "bars": half, "metrics": METRICS},
            {"fold": 2, "start_date": bars.index[half].isoformat(),
             "end_date": bars.index[-1].isoformat(), "bars": len(bars) - half, "metrics": METRICS},
        ]  # fmt: skip
        summary["seed_sharpes"] = [0.9, 1.4, None]
    return {
        "operation_id": "op_backtesting_1",
        "operation_type": "backtesting",
        "status": "completed",
        "metadata": {"symbol": "EURUSD", "timeframe": "1h", "parameters": {"strategy_name": "s"}},
        "result_summary": summary,
    }


def training_operation() -> dict[str, Any]:
    """The JSON of a completed walk-forward training operation."""
    test_metrics = {"test_accuracy": 0.5, "test_loss": 0.95, "confusion": CONFUSION}
    return {
        "operation_id": "op_training_1",
        "operation_type": "training",
        "status": "completed",
        "metadata": {"symbol": "EURUSD", "timeframe": "1h", "parameters": {"strategy_name": "s"}},
        "result_summary": {
            "training_metrics": {
                "epochs_run": 3,
                "history": {
                    "train_loss": [1.0, 0.9, 0.8],
                    "val_loss": [1.05, 1.0, 0.98],
                    "val_accuracy": [0.4, 0.45, 0.5],
                },
            },
            "test_metrics": test_metrics,
            "label_distribution": {
                "train": {"sell": 10, "hold": 5, "buy": 12},
                "test": {"sell": 8, "hold": 4, "buy": 8},
            },
            "n_samples": {"train": 27, "test": 20},
            "feature_names": ["1h_rsi_zone_low", "1h_rsi_zone_high"],
            "walk_forward": {
                "folds": [
                    {"fold": 1, "test_metrics": test_metrics},
                    {"fold": 2, "test_metrics": test_metrics},
                ]
            },
            "artifacts": {"history": "/nowhere/history.parquet"},
        },
    }
