from __future__ import annotations

import pandas as pd
import pytest

from ktrdr.data import TIMEFRAMES, canonical_timeframe, parse_timeframe
from ktrdr.errors import ValidationError


@pytest.mark.parametrize(
    ("text", "canonical", "duration"),
    [
        ("1m", "1m", pd.Timedelta(minutes=1)),
        ("5M", "5m", pd.Timedelta(minutes=5)),
        ("15m", "15m", pd.Timedelta(minutes=15)),
        ("30m", "30m", pd.Timedelta(minutes=30)),
        ("1H", "1h", pd.Timedelta(hours=1)),
        ("2h", "2h", pd.Timedelta(hours=2)),
        (" 4h ", "4h", pd.Timedelta(hours=4)),
        ("1D", "1d", pd.Timedelta(days=1)),
        ("1w", "1w", pd.Timedelta(days=7)),
    ],
)
def test_parse_and_canonicalise(text, canonical, duration):
    assert canonical_timeframe(text) == canonical
    assert parse_timeframe(text) == duration


def test_all_contract_timeframes_are_known():
    assert list(TIMEFRAMES) == ["1m", "5m", "15m", "30m", "1h", "2h", "4h", "1d", "1w"]


@pytest.mark.parametrize("bad", ["3h", "1y", "", "hour", None, 60])
def test_unknown_timeframe_lists_allowed(bad):
    with pytest.raises(ValidationError) as caught:
        parse_timeframe(bad)
    assert repr(bad) in caught.value.message
    assert "1m, 5m, 15m, 30m, 1h, 2h, 4h, 1d, 1w" in caught.value.message
    assert caught.value.details["allowed"] == list(TIMEFRAMES)
