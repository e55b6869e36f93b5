"""Backtest engine: position decisions, the simulator and its metrics.

Names are imported on first use (PEP 562), so the API server, which only needs
``ktrdr.backtesting.service``, does not compile the numba kernels at start-up.
"""

from __future__ import annotations

from ktrdr.lazy import lazy_exports as _lazy_exports

_EXPORTS = {
    "METRIC_NAMES": "metrics",
    "EXIT_REASON_NAMES": "exits",
    "TRADE_COLUMNS": "simulator",
    "VolatilityTarget": "sizing",
    "PortfolioResult": "portfolio",
    "SYMBOL_METRIC_NAMES": "portfolio",
    "SimulationResult": "simulator",
    "compute_metrics": "metrics",
    "decide_positions": "decisions",
    "periods_per_year": "metrics",
    "simulate_many": "sweep",
    "simulate_portfolio": "portfolio",
    "simulate_positions": "simulator",
}

__all__ = sorted(_EXPORTS)

__getattr__ = _lazy_exports(__name__, _EXPORTS)
