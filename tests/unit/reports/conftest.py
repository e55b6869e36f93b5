"""Fixtures of the report tests."""

from __future__ import annotations

import pandas as pd
import pytest
from support.report_frames import bars_frame


@pytest.fixture
def bars() -> pd.DataFrame:
    """600 hourly bars of a random walk."""
    return bars_frame()
