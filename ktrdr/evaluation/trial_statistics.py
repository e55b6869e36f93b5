"""The research-window statistics of one walk-forward evaluation (DESIGN §11 Results).

A pure function of the trial, its per-bar stitched returns and its data set's trials; the
research cycle stores the answer as ``statistics`` in its state and result_summary.
"""

from __future__ import annotations

import math
from typing import Any

import pandas as pd

from ktrdr.backtesting.metrics import periods_per_year
from ktrdr.errors import DataError
from ktrdr.evaluation.statistics import (
    bootstrap_sharpe_ci,
    deflated_sharpe_ratio,
    expected_max_sharpe,
    min_track_record_length,
    probabilistic_sharpe_ratio,
)
from ktrdr.evaluation.trials import DataSetTrials, Trial, TrialLedger

TRACK_RECORD_CONFIDENCE = 0.95


def research_statistics(
    trial: Trial, returns: pd.Series, data_set: DataSetTrials
) -> dict[str, Any]:
    """``{n_trials, sharpe, sharpe_annualized, psr, dsr, bootstrap_ci, min_track_record_bars,
    bars, pbo}`` plus ``trials_sharpe_variance``, ``expected_max_sharpe`` and ``trades``.

    ``sharpe`` is per bar; ``sharpe_annualized`` and ``bootstrap_ci`` (95 %, stationary block
    bootstrap) scale it by the bars a year of the returns' own span. ``dsr`` deflates by the
    expected best Sharpe of the data set's N trials with variance V (V = 0 when fewer than two
    trials have a Sharpe: no spread to deflate by, DSR = PSR). ``min_track_record_bars`` is the
    bars PSR(0) needs to reach 95 % (None when the Sharpe is not positive: no length suffices).
    A flat curve has no Sharpe: those figures are None.
    """
    variance = data_set.sharpe_variance or 0.0
    benchmark = expected_max_sharpe(data_set.n_trials, variance)
    figures: dict[str, Any] = {
        "n_trials": data_set.n_trials,
        "sharpe": trial.sharpe,
        "sharpe_annualized": None,
        "psr": None,
        "dsr": None,
        "bootstrap_ci": None,
        "min_track_record_bars": None,
        "bars": trial.n_obs,
        "pbo": data_set.pbo,
        "trials_sharpe_variance": data_set.sharpe_variance,
        "expected_max_sharpe": benchmark,
        "trades": trial.trades,
    }
    if trial.sharpe is None or trial.skew is None or trial.kurtosis is None:
        return figures
    moments = (trial.sharpe, trial.n_obs, trial.skew, trial.kurtosis)
    periods = periods_per_year(pd.DatetimeIndex(returns.index))
    # Against the best Sharpe N trials of noise would show (DSR's benchmark), not 0: with one
    # trial the two agree; with many, a bars-vs-track check against 0 could never fail once
    # DSR passed.
    track = min_track_record_length(
        trial.sharpe,
        trial.skew,
        trial.kurtosis,
        benchmark=benchmark,
        confidence=TRACK_RECORD_CONFIDENCE,
    )
    interval = bootstrap_sharpe_ci(returns.to_numpy(), periods) if periods else None
    figures.update(
        sharpe_annualized=trial.sharpe * math.sqrt(periods) if periods else None,
        psr=probabilistic_sharpe_ratio(*moments),
        dsr=deflated_sharpe_ratio(*moments, data_set.n_trials, variance),
        bootstrap_ci=list(interval) if interval is not None else None,
        min_track_record_bars=math.ceil(track) if math.isfinite(track) else None,
    )
    return figures


class ResearchStatistics:
    """The statistics of a research cycle's walk-forward backtest, its trial recorded first."""

    def __init__(self, ledger: TrialLedger) -> None:
        self.ledger = ledger

    def statistics(self, backtest_operation_id: str) -> dict[str, Any]:
        """Record the backtest's trial (if not yet) and return its ``research_statistics``
        against its data set's trials; a DataError when it is no out-of-sample walk-forward
        backtest or its equity file is missing."""
        trial = self.ledger.record(backtest_operation_id)
        if trial is None:
            raise DataError(
                f"backtest {backtest_operation_id} is not a completed out-of-sample walk-forward "
                "backtest: it has no research-window statistics"
            )
        data_set = self.ledger.data_set(trial.symbol, trial.timeframe, trial.holdout_start)
        returns = self.ledger.returns(backtest_operation_id)
        return research_statistics(trial, returns, data_set)
