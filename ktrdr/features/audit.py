"""The look-ahead audit: features recomputed on truncated data must not change their past."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from ktrdr.data import close_times
from ktrdr.features.builder import BarsByTimeframe, FeaturePipeline
from ktrdr.strategy import StrategyConfig

DEFAULT_CUT_FRACTIONS = (0.5, 0.65, 0.8, 0.95)
RELATIVE_TOLERANCE = 1e-9
ABSOLUTE_TOLERANCE = 1e-12


@dataclass(frozen=True)
class LookaheadReport:
    """Which features changed their past when later bars were removed (empty = clean)."""

    cut_points: list[pd.Timestamp]
    offending: dict[str, pd.Timestamp] = field(default_factory=dict)

    @property
    def passed(self) -> bool:
        """True when no feature peeked."""
        return not self.offending

    def describe(self) -> str:
        """One line naming each offending feature and the first bar whose value changed."""
        if self.passed:
            return f"no look-ahead at {len(self.cut_points)} cut points"
        parts = [f"{name} (changed at {when})" for name, when in self.offending.items()]
        return "features depend on later bars: " + ", ".join(parts)


def audit_lookahead(
    strategy: StrategyConfig,
    bars: BarsByTimeframe,
    *,
    cut_fractions: tuple[float, ...] = DEFAULT_CUT_FRACTIONS,
) -> LookaheadReport:
    """Recompute the features on data cut at several points; report every feature whose past moved.

    At a cut after base bar k, each timeframe keeps only the bars that had *closed* by the close of
    bar k: a feature that reads a later bar, or a higher-timeframe bar before it closed, changes.
    """
    pipeline = FeaturePipeline(strategy)
    base_tf = pipeline.base_timeframe
    full = pipeline.compute_raw(bars)
    base_close = close_times(bars[base_tf], base_tf)
    offending: dict[str, pd.Timestamp] = {}
    cuts: list[pd.Timestamp] = []
    for fraction in cut_fractions:
        k = int(len(bars[base_tf]) * fraction)
        cut_close = base_close[k]
        truncated = {tf: frame[close_times(frame, tf) <= cut_close] for tf, frame in bars.items()}
        partial = pipeline.compute_raw(truncated)
        cuts.append(bars[base_tf].index[k])
        _record_changes(full.iloc[: len(partial)], partial, offending)
    return LookaheadReport(cut_points=cuts, offending=offending)


def _record_changes(
    full: pd.DataFrame, partial: pd.DataFrame, offending: dict[str, pd.Timestamp]
) -> None:
    for name in partial.columns:
        a = full[name].to_numpy(np.float64)
        b = partial[name].to_numpy(np.float64)
        same = np.isclose(a, b, rtol=RELATIVE_TOLERANCE, atol=ABSOLUTE_TOLERANCE, equal_nan=True)
        if not same.all():
            first = partial.index[int(np.argmin(same))]
            if name not in offending or first < offending[name]:
                offending[name] = first
