from __future__ import annotations

import numpy as np
import pandas as pd

from ktrdr.reports import downsample_ohlc, downsample_series, min_max_indices


def test_short_series_are_kept_whole() -> None:
    assert list(min_max_indices(np.arange(10.0), max_points=100)) == list(range(10))


def test_a_long_series_keeps_its_extremes_ends_and_size_bound() -> None:
    values = np.sin(np.linspace(0, 60, 1_000_000))
    values[123_457] = -5.0  # one deep trough
    values[876_543] = 7.0  # one spike
    kept = min_max_indices(values, max_points=2_000)
    assert len(kept) <= 2_002
    assert kept[0] == 0 and kept[-1] == len(values) - 1
    assert {123_457, 876_543} <= set(kept.tolist())
    assert np.all(np.diff(kept) > 0)


def test_nan_never_hides_a_bucket_extreme() -> None:
    values = np.full(10_000, np.nan)
    values[5_000] = 3.0
    kept = min_max_indices(values, max_points=100)
    assert 5_000 in kept


def test_downsample_series_keeps_the_time_index() -> None:
    index = pd.date_range("2020-01-01", periods=50_000, freq="min", tz="UTC")
    series = pd.Series(np.random.default_rng(0).normal(size=50_000).cumsum(), index=index)
    drawn = downsample_series(series, max_points=500)
    assert drawn.min() == series.min() and drawn.max() == series.max()
    assert drawn.index.is_monotonic_increasing and drawn.index.isin(index).all()


def test_ohlc_candles_merge_runs_of_bars(bars: pd.DataFrame) -> None:
    candles = downsample_ohlc(bars, max_candles=60)
    assert len(candles) == 60
    assert candles["high"].max() == bars["high"].max()
    assert candles["low"].min() == bars["low"].min()
    assert candles["open"].iloc[0] == bars["open"].iloc[0]
    assert candles["close"].iloc[-1] == bars["close"].iloc[-1]
    assert candles.index[0] == bars.index[0]


def test_few_bars_are_drawn_as_they_are(bars: pd.DataFrame) -> None:
    assert len(downsample_ohlc(bars, max_candles=10_000)) == len(bars)
