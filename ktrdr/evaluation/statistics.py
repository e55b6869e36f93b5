"""Statistics that tell skill from luck (DESIGN §11): the probabilistic Sharpe ratio and its inputs.

Sharpe ratios here are per period (per bar), not annualised; kurtosis is Pearson's (normal = 3).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from statistics import NormalDist

import numpy as np

from ktrdr.errors import ValidationError

_NORMAL = NormalDist()


@dataclass(frozen=True)
class ReturnMoments:
    """What PSR needs of returns: per-period Sharpe, observations, skew, Pearson kurtosis."""

    sharpe: float
    n_obs: int
    skew: float
    kurtosis: float


def return_moments(returns: np.ndarray) -> ReturnMoments | None:
    """Per-period Sharpe (ddof 1), skewness and Pearson kurtosis of ``returns``; None if undefined.

    Undefined: fewer than 3 finite returns or zero variance (a flat equity curve).
    """
    values = np.asarray(returns, dtype=np.float64)
    values = values[np.isfinite(values)]
    if len(values) < 3:
        return None
    std = values.std(ddof=1)
    if std <= 0:
        return None
    centred = values - values.mean()
    second = np.mean(centred**2)
    skew = float(np.mean(centred**3) / second**1.5)
    kurtosis = float(np.mean(centred**4) / second**2)
    return ReturnMoments(float(values.mean() / std), len(values), skew, kurtosis)


def probabilistic_sharpe_ratio(
    sharpe: float, n_obs: int, skew: float, kurtosis: float, benchmark: float = 0.0
) -> float:
    """P(true Sharpe > ``benchmark``) given an observed per-period Sharpe (Bailey & López de Prado).

    PSR = Φ((SR − SR*)·√(n−1) / √(1 − γ₃·SR + (γ₄−1)/4·SR²)), γ₄ Pearson. Example: SR 0.1 per
    bar over 253 bars with normal returns (skew 0, kurtosis 3) gives Φ(0.1·√252 / √1.005) ≈ 0.94.
    """
    if n_obs < 2:
        raise ValidationError(f"n_obs must be >= 2 for a probabilistic Sharpe ratio, got {n_obs}")
    for name, value in (("sharpe", sharpe), ("skew", skew), ("kurtosis", kurtosis)):
        if not math.isfinite(value):
            raise ValidationError(f"{name} must be a finite number, got {value!r}")
    variance = 1.0 - skew * sharpe + (kurtosis - 1.0) / 4.0 * sharpe**2
    if variance <= 0:
        raise ValidationError(
            f"sharpe {sharpe}, skew {skew}, kurtosis {kurtosis}: the Sharpe ratio's variance "
            f"term {variance:.4g} is not positive"
        )
    z = (sharpe - benchmark) * math.sqrt(n_obs - 1) / math.sqrt(variance)
    return _NORMAL.cdf(z)
