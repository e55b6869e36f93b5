"""Backtest engine: position decisions, the simulator and its metrics."""

from __future__ import annotations

from ktrdr.backtesting.decisions import decide_positions
from ktrdr.backtesting.metrics import METRIC_NAMES, compute_metrics, periods_per_year
from ktrdr.backtesting.simulator import TRADE_COLUMNS, SimulationResult, simulate_positions

__all__ = [
    "METRIC_NAMES",
    "TRADE_COLUMNS",
    "SimulationResult",
    "compute_metrics",
    "decide_positions",
    "periods_per_year",
    "simulate_positions",
]
