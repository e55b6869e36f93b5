"""Position sizing: a fixed fraction of equity (the default) or a volatility target."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd

from ktrdr.errors import ValidationError


@dataclass(frozen=True, kw_only=True)
class VolatilityTarget:
    """Size each entry so the position's annualised volatility is ``annual_vol``.

    At an entry decided at bar t's close, the fraction of equity is
    ``min(max_leverage, annual_vol / realised)``, where ``realised`` is the standard deviation
    (ddof 1) of the last ``lookback`` close-to-close returns up to bar t, annualised with
    sqrt(periods per year) of the bars (:func:`ktrdr.backtesting.periods_per_year`). Example:
    annual_vol 0.10, realised 0.40 -> 25 % of equity; realised 0.05 -> 2.0, capped at
    max_leverage 1.0. Before bar t has ``lookback`` returns (t < lookback) nothing is entered:
    the engine waits, and enters at the first later open whose decision bar has the history,
    if the target still wants the position. A zero realised volatility sizes at the cap.
    """

    annual_vol: float
    lookback: int
    max_leverage: float = 1.0

    def __post_init__(self) -> None:
        for name in ("annual_vol", "max_leverage"):
            value = getattr(self, name)
            if not isinstance(value, int | float) or not math.isfinite(value) or value <= 0:
                raise ValidationError(
                    f"VolatilityTarget.{name} must be a number > 0, got {value!r}"
                )
        if isinstance(self.lookback, bool) or not isinstance(self.lookback, int | np.integer):
            raise ValidationError(
                f"VolatilityTarget.lookback must be an int, got {self.lookback!r}"
            )
        if self.lookback < 2:
            raise ValidationError(f"VolatilityTarget.lookback must be >= 2, got {self.lookback}")

    def fractions(self, close: np.ndarray, periods: float | None) -> np.ndarray:
        """The fraction of equity for an entry decided at each bar; NaN before enough history."""
        if periods is None:
            return np.full(len(close), np.nan)
        returns = pd.Series(np.concatenate([[np.nan], close[1:] / close[:-1] - 1.0]))
        realised = returns.rolling(self.lookback).std(ddof=1).to_numpy() * math.sqrt(periods)
        with np.errstate(divide="ignore"):
            wanted = self.annual_vol / realised
        return np.minimum(wanted, self.max_leverage)


def check_sizing(sizing: object, n_bars: int) -> VolatilityTarget | np.ndarray | None:
    """Accept None (fixed fraction), a VolatilityTarget, or its fractions already computed for
    each of the ``n_bars`` decision bars (NaN: no entry), e.g. by ``VolatilityTarget.fractions``
    over a history longer than the traded bars; anything else is a ValidationError."""
    if sizing is None or isinstance(sizing, VolatilityTarget):
        return sizing
    if isinstance(sizing, np.ndarray | pd.Series) and np.ndim(sizing) == 1:
        fractions = np.asarray(sizing, dtype=np.float64)
        if len(fractions) != n_bars:
            raise ValidationError(
                f"sizing has {len(fractions)} fractions, bars {n_bars} rows: need one per "
                "decision bar"
            )
        given = fractions[~np.isnan(fractions)]
        if np.any(~np.isfinite(given) | (given < 0.0)):
            raise ValidationError("sizing fractions must be finite and >= 0 (NaN: no entry)")
        return fractions
    raise ValidationError(
        "sizing must be None, a VolatilityTarget or an array of fractions per decision bar, "
        f"got {sizing!r}"
    )
