"""Deterministic verdicts on evaluation results (DESIGN §11)."""

from __future__ import annotations

import math
from collections.abc import Mapping

import numpy as np

from ktrdr.errors import ValidationError
from ktrdr.evaluation.statistics import probabilistic_sharpe_ratio, return_moments

HOLDOUT_MIN_TRADES = 10
HOLDOUT_MIN_PSR = 0.90
VERDICT_MIN_DSR = 0.95  # defaults of the settings VERDICT_MIN_DSR / VERDICT_MIN_TRADES
VERDICT_MIN_TRADES = 30

PROMISING = "promising"
NEUTRAL = "neutral"
POOR = "poor"
RESEARCH_VERDICTS = (POOR, NEUTRAL, PROMISING)  # lowest first

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


def research_verdict(
    statistics: Mapping[str, object],
    *,
    min_dsr: float = VERDICT_MIN_DSR,
    min_trades: int = VERDICT_MIN_TRADES,
) -> tuple[str, str]:
    """``(promising | neutral | poor, reason)`` of a research-window walk-forward evaluation.

    ``statistics`` is the research ``statistics`` block (``research_statistics``). Promising:
    positive Sharpe, DSR ≥ ``min_dsr``, stitched trades ≥ ``min_trades`` and bars ≥ the minimum
    track record; neutral: a positive Sharpe that falls short (the reason names each shortfall,
    e.g. ``dsr 0.43 < 0.95 (37 trials)``); poor: otherwise.
    """
    sharpe = _number(statistics.get("sharpe"))
    if sharpe is None:
        return POOR, "sharpe undefined (flat equity curve)"
    annualised = _number(statistics.get("sharpe_annualized"))
    shown = f"{annualised:.2f} annualised" if annualised is not None else f"{sharpe:.4f} per bar"
    if sharpe <= 0:
        return POOR, f"sharpe {shown} <= 0"
    dsr = _number(statistics.get("dsr"))
    trials = int(_number(statistics.get("n_trials")) or 0)
    trades = int(_number(statistics.get("trades")) or 0)
    bars = int(_number(statistics.get("bars")) or 0)
    track = _number(statistics.get("min_track_record_bars"))
    dsr_text = "undefined" if dsr is None else f"{dsr:.2f}"
    track_text = "undefined" if track is None else f"{int(track):,}"
    shortfalls = []
    if dsr is None or dsr < min_dsr:
        shortfalls.append(f"dsr {dsr_text} < {min_dsr:.2f} ({trials} trials)")
    if trades < min_trades:
        shortfalls.append(f"trades {trades} < {min_trades}")
    if track is None:
        # Sharpe at or below the best N noise trials would show: no track record is long enough.
        shortfalls.append(f"sharpe not above the best of {trials} noise trials: no track record")
    elif bars < track:
        shortfalls.append(f"bars {bars:,} < min track record {track_text}")
    if shortfalls:
        return NEUTRAL, "; ".join(shortfalls)
    return PROMISING, (
        f"dsr {dsr_text} >= {min_dsr:.2f} ({trials} trials), trades {trades} >= {min_trades}, "
        f"bars {bars:,} >= min track record {track_text}"
    )


def lower_verdict(verdict: str, other: str | None) -> str:
    """The lower of two research verdicts (poor < neutral < promising); ``other`` None keeps
    ``verdict``. An assessor may lower the deterministic verdict this way, never raise it."""
    if other is None:
        return verdict
    for name in (verdict, other):
        if name not in RESEARCH_VERDICTS:
            raise ValidationError(
                f"verdict {name!r} is not one of {', '.join(RESEARCH_VERDICTS)}",
                details={"verdict": str(name)},
            )
    return min(verdict, other, key=RESEARCH_VERDICTS.index)


def _number(value: object) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value) if math.isfinite(value) else None
