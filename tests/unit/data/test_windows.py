"""Data windows: the holdout is sealed at first use, stays put, and moves only by reset."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from ktrdr.data import DataRepository, DataWindows
from ktrdr.errors import DataError, ValidationError
from ktrdr.operations import OperationsStore


@pytest.fixture
def repository(tmp_path: Path) -> DataRepository:
    """The bundled samples plus an empty data folder."""
    return DataRepository(tmp_path / "data")


@pytest.fixture
def windows(store: OperationsStore, repository: DataRepository) -> DataWindows:
    """Windows with the default 20 % holdout on a migrated store (SQLite and PostgreSQL)."""
    return DataWindows(store.engine, repository, holdout_fraction=0.2)


def test_first_use_seals_the_last_fifth_of_the_bars(
    windows: DataWindows, repository: DataRepository
) -> None:
    index = repository.load("EURUSD", "1h").index
    window = windows.get("eurusd", "1h")
    holdout_bars = (index >= window.holdout_start).sum()
    assert holdout_bars == -(-len(index) * 2 // 10)  # ceil(20 %)
    assert window.research_start == index[0]
    assert window.research_end == index[index < window.holdout_start][-1]
    assert window.holdout_end == index[-1]
    assert window.holdout_looks == 0
    assert [(w.symbol, w.timeframe) for w in windows.list()] == [("EURUSD", "1h")]


def test_the_holdout_stays_fixed_when_bars_are_appended(
    windows: DataWindows, repository: DataRepository
) -> None:
    sealed = windows.get("EURUSD", "1h")
    bars = repository.load("EURUSD", "1h")
    later = bars.iloc[-500:].copy()
    later.index = later.index + (bars.index[-1] - later.index[0]) + pd.Timedelta(hours=1)
    repository.write_bars("EURUSD", "1h", pd.concat([bars, later]))
    window = windows.get("EURUSD", "1h")
    assert window.holdout_start == sealed.holdout_start
    assert window.holdout_end == later.index[-1]


def test_a_fraction_of_the_holdout_is_the_settings(
    store: OperationsStore, repository: DataRepository
) -> None:
    windows = DataWindows(store.engine, repository, holdout_fraction=0.5)
    index = repository.load("SP500", "1d").index
    assert windows.get("SP500", "1d").holdout_start == index[len(index) - -(-len(index) // 2)]


def test_a_strategy_uses_the_earliest_holdout_start(windows: DataWindows) -> None:
    starts = [windows.get(s, "1d").holdout_start for s in ("SP500", "NASDAQ")]
    assert windows.holdout_start(["SP500", "NASDAQ"], ["1d"]) == min(starts)


def test_reset_moves_the_holdout_and_restarts_the_look_count(
    windows: DataWindows, repository: DataRepository
) -> None:
    windows.get("EURUSD", "1h")
    assert windows.count_look("EURUSD", "1h") == 1
    moved = windows.reset("EURUSD", "1h", "2017-12-01")
    index = repository.load("EURUSD", "1h").index
    assert moved.holdout_start == index[index >= pd.Timestamp("2017-12-01", tz="UTC")][0]
    assert moved.holdout_looks == 0
    assert windows.get("EURUSD", "1h").holdout_start == moved.holdout_start


def test_reset_outside_the_data_is_refused_naming_the_date(windows: DataWindows) -> None:
    with pytest.raises(ValidationError, match="holdout start 2031-01-01"):
        windows.reset("EURUSD", "1h", "2031-01-01")


def test_a_data_set_too_short_to_split_is_refused(
    store: OperationsStore, repository: DataRepository
) -> None:
    bars = repository.load("EURUSD", "1h").iloc[:110]
    repository.write_bars("SHORT", "1h", bars)
    with pytest.raises(DataError, match="SHORT 1h has 110 bars"):
        DataWindows(store.engine, repository, holdout_fraction=0.2).get("SHORT", "1h")


def test_looks_are_counted(windows: DataWindows) -> None:
    assert [windows.count_look("GOOG", "1d") for _ in range(3)] == [1, 2, 3]
    assert windows.get("GOOG", "1d").holdout_looks == 3
