"""Deterministic verdicts on evaluation results (DESIGN §11)."""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from ktrdr.evaluation.statistics import probabilistic_sharpe_ratio, return_moments

HOLDOUT_MIN_TRADES = 10
HOLDOUT_MIN_PSR = 0.90

CONFIRMED = "confirmed"
NOT_CONFIRMED = "not_confirmed"
INCONCLUSIVE = "inconclusive"


def holdout_psr(returns: np.ndarray) -> float | None:
    """PSR(0) of per-bar holdout returns; None when the Sharpe ratio is undefined (flat curve)."""
    moments = return_moments(returns)
    if moments is None:
        return None
    return probabilistic_sharpe_ratio(
        moments.sharpe, moments.n_obs, moments.skew, moments.kurtosis, benchmark=0.0
    )


def holdout_verdict(metrics: Mapping[str, object], psr: float | None) -> tuple[str, str]:
    """``(confirmed | not_confirmed | inconclusive, reason)`` of a holdout backtest.

    ``inconclusive`` under ``HOLDOUT_MIN_TRADES`` trades; ``confirmed`` when the Sharpe ratio is
    positive and ``psr`` (PSR(0) of the per-bar returns, ``holdout_psr``) is at least
    ``HOLDOUT_MIN_PSR``; otherwise ``not_confirmed``. The reason names the numbers, e.g.
    ``psr 0.71 < 0.90 (sharpe 0.84)``.
    """
    trades = int(metrics.get("total_trades") or 0)
    if trades < HOLDOUT_MIN_TRADES:
        return INCONCLUSIVE, f"too_few_trades ({trades} < {HOLDOUT_MIN_TRADES})"
    sharpe = metrics.get("sharpe_ratio")
    if not isinstance(sharpe, int | float) or sharpe <= 0:
        shown = "undefined" if not isinstance(sharpe, int | float) else f"{sharpe:.2f}"
        return NOT_CONFIRMED, f"sharpe {shown} <= 0"
    if psr is None or psr < HOLDOUT_MIN_PSR:
        shown = "undefined" if psr is None else f"{psr:.2f}"
        return NOT_CONFIRMED, f"psr {shown} < {HOLDOUT_MIN_PSR:.2f} (sharpe {sharpe:.2f})"
    return (
        CONFIRMED,
        f"sharpe {sharpe:.2f} > 0, psr {psr:.2f} >= {HOLDOUT_MIN_PSR:.2f}, {trades} trades",
    )
