"""Backtest engine: position decisions, the simulator and its metrics.

Names are imported on first use (PEP 562), so the API server, which only needs
``ktrdr.backtesting.service``, does not compile the numba kernels at start-up.
"""

from __future__ import annotations

import importlib

_EXPORTS = {
    "METRIC_NAMES": "metrics",
    "TRADE_COLUMNS": "simulator",
    "SimulationResult": "simulator",
    "compute_metrics": "metrics",
    "decide_positions": "decisions",
    "periods_per_year": "metrics",
    "simulate_positions": "simulator",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> object:
    """Import the submodule that defines ``name`` on first access, then keep it here."""
    if name not in _EXPORTS:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f"{__name__}.{_EXPORTS[name]}"), name)
    globals()[name] = value
    return value
