"""Bars for the feature-pipeline tests."""

from __future__ import annotations

import pandas as pd
import pytest
from support.bars import random_walk_bars


@pytest.fixture
def hourly_bars() -> pd.DataFrame:
    """600 hourly bars."""
    return random_walk_bars(600)
