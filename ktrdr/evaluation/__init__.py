"""The evaluation protocol (DESIGN §11): statistics, verdicts and the counted holdout looks.

Names are imported on first use (PEP 562), so importing one statistic does not load the
backtesting service behind ``HoldoutService``.
"""

from __future__ import annotations

from ktrdr.lazy import lazy_exports as _lazy_exports

_EXPORTS = {
    "BacktestOverfitting": "statistics",
    "DataSetTrials": "trials",
    "HoldoutService": "holdout",
    "Trial": "trials",
    "TrialLedger": "trials",
    "ResearchStatistics": "trial_statistics",
    "ReturnMoments": "statistics",
    "backtest_overfitting": "statistics",
    "bootstrap_sharpe_ci": "statistics",
    "deflated_sharpe_ratio": "statistics",
    "expected_max_sharpe": "statistics",
    "holdout_psr": "verdicts",
    "holdout_verdict": "verdicts",
    "lower_verdict": "verdicts",
    "min_track_record_length": "statistics",
    "probability_of_backtest_overfitting": "statistics",
    "research_statistics": "trial_statistics",
    "research_verdict": "verdicts",
    "probabilistic_sharpe_ratio": "statistics",
    "return_moments": "statistics",
}

__all__ = sorted(_EXPORTS)

__getattr__ = _lazy_exports(__name__, _EXPORTS)
