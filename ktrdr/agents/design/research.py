"""What a designer may see of a data set: its research window, never its holdout (DESIGN §11).

The system seals the last part of every data set as its holdout (``ktrdr.data.windows``). A
designer reads only the bars before the holdout start, and fits what it derives from bars — fuzzy
breakpoints, label thresholds, the volatility and price figures an LLM is shown — on the
*initial training span* alone: the first ``MIN_TRAIN_FRACTION`` of the research window. That is
the span every walk-forward evaluation trains its first fold on before any out-of-sample slice,
so no fold's test bars shape the design that is tested on them. (The final model trains on the
whole research window, but its design must not have looked at the folds that judge it.)
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Protocol

import pandas as pd

from ktrdr.data import DataRepository
from ktrdr.errors import DataError
from ktrdr.strategy import EvaluationConfig

# The default of the strategy's evaluation.min_train_fraction (DESIGN §11 Walk-forward).
MIN_TRAIN_FRACTION = EvaluationConfig().min_train_fraction  # the strategies' default span


class HoldoutSource(Protocol):
    """Where the holdout starts: ``ktrdr.data.DataWindows`` (frozen at first use)."""

    def holdout_start(self, symbols: Iterable[str], timeframes: Iterable[str]) -> pd.Timestamp:
        """The earliest holdout start of these data sets."""
        ...


@dataclass(frozen=True)
class ResearchData:
    """One data set as a designer sees it: bars before ``holdout_start`` only.

    EURUSD 1h sample (5 000 bars, 20 % holdout from 2017-12-08): ``bars`` = the 4 000 research
    bars, ``training_bars`` = their first 2 000 (2017-04-19 09:00 .. 2017-08-14 16:00).
    """

    symbol: str
    timeframe: str
    holdout_start: pd.Timestamp
    bars: pd.DataFrame
    training_bars: pd.DataFrame

    def date_range(self) -> tuple[str, str]:
        """The research window in whole days, e.g. ``("2017-04-19", "2017-12-07")``."""
        return research_days(self.bars.index[0], self.holdout_start)


def research_data(
    data: DataRepository,
    windows: HoldoutSource,
    symbol: str,
    timeframe: str,
    *,
    min_train_fraction: float = MIN_TRAIN_FRACTION,
) -> ResearchData:
    """Load the research window of ``symbol`` ``timeframe`` and its initial training span."""
    holdout_start = windows.holdout_start([symbol], [timeframe])
    bars = data.load(symbol, timeframe)
    bars = bars[bars.index < holdout_start]
    span = int(len(bars) * min_train_fraction)
    if span < 2:
        raise DataError(
            f"{symbol} {timeframe}: {len(bars)} research bars leave no training span to design on",
            details={"symbol": symbol, "timeframe": timeframe},
        )
    return ResearchData(symbol, timeframe, holdout_start, bars, bars.iloc[:span])


def research_days(first_bar: pd.Timestamp, holdout_start: pd.Timestamp) -> tuple[str, str]:
    """Whole days from the first bar's to the last day that ends before the holdout starts.

    A strategy's ``date_range`` end includes its whole day, so the holdout start's own day is
    left out even when its first hours are research bars.
    """
    start = first_bar.normalize()
    end = holdout_start.normalize() - pd.Timedelta(days=1)
    if end <= start:
        raise DataError(
            f"the research window from {start.date()} ends before a whole day "
            f"(holdout from {holdout_start.isoformat()})"
        )
    return start.strftime("%Y-%m-%d"), end.strftime("%Y-%m-%d")
