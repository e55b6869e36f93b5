"""Timeframe strings ("1m" … "1w") and their durations."""

from __future__ import annotations

import pandas as pd

from ktrdr.errors import ValidationError

TIMEFRAMES: dict[str, pd.Timedelta] = {
    "1m": pd.Timedelta(minutes=1),
    "5m": pd.Timedelta(minutes=5),
    "15m": pd.Timedelta(minutes=15),
    "30m": pd.Timedelta(minutes=30),
    "1h": pd.Timedelta(hours=1),
    "2h": pd.Timedelta(hours=2),
    "4h": pd.Timedelta(hours=4),
    "1d": pd.Timedelta(days=1),
    "1w": pd.Timedelta(weeks=1),
}


def canonical_timeframe(timeframe: str) -> str:
    """Return the canonical lower-case timeframe string, e.g. " 4H " -> "4h"."""
    key = timeframe.strip().lower() if isinstance(timeframe, str) else None
    if key not in TIMEFRAMES:
        allowed = ", ".join(TIMEFRAMES)
        raise ValidationError(
            f"unknown timeframe {timeframe!r}; allowed: {allowed}",
            details={"timeframe": str(timeframe), "allowed": list(TIMEFRAMES)},
        )
    return key


def parse_timeframe(timeframe: str) -> pd.Timedelta:
    """Return the duration of one bar, e.g. "4h" -> Timedelta(hours=4)."""
    return TIMEFRAMES[canonical_timeframe(timeframe)]
