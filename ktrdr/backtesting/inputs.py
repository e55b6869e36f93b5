"""Torch-free inputs of the backtest job: its import path, warm-up sizes, bars and model files."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import pandas as pd

from ktrdr.data import slice_bars
from ktrdr.strategy.indicator_specs import warmup_bars
from ktrdr.strategy.schema import StrategyConfig
from ktrdr.training.manifest import MANIFEST_FILE, WEIGHTS_FILE

JOB_PATH = "ktrdr.backtesting.job:run_backtest_job"
MIN_BACKTEST_BARS = 20  # bars with a prediction inside the range; fewer say nothing
WARMUP_SAFETY_FACTOR = 5  # history beyond the warm-up: room for gaps (weekends, holidays)
MIN_HISTORY_BARS = 200
DEFAULT_CHUNK_ROWS = 20_000  # rows per prediction chunk: a cancel check between two chunks

BarsByTimeframe = dict[str, pd.DataFrame]


def warmup_rows(strategy: StrategyConfig) -> int:
    """Bars at the start of a series that get no prediction: indicator warm-up plus lookback."""
    indicator_warmup = max(warmup_bars(i.type, i.params) for i in strategy.indicators.values())
    return indicator_warmup + strategy.model.lookback


def history_bars(strategy: StrategyConfig) -> int:
    """Bars loaded before the range start, per timeframe: the warm-up times a safety factor.

    The warm-up already lasts until every indicator has forgotten where its history started
    (RSI 14 and MACD 12/26/9: 317 bars with lookback 1); the factor leaves room for gaps in the
    data before the range.
    """
    return max(MIN_HISTORY_BARS, WARMUP_SAFETY_FACTOR * warmup_rows(strategy))


def backtest_bars(
    bars: Mapping[str, pd.DataFrame],
    strategy: StrategyConfig,
    start: pd.Timestamp,
    end: pd.Timestamp,
) -> BarsByTimeframe:
    """Every timeframe's ``bars`` up to ``end``, with ``history_bars`` before ``start``.

    Bars before ``start`` only feed indicators (they are in the past, so no look-ahead); they
    may lie inside the training range. Trades use bars from ``start`` on.
    """
    keep = history_bars(strategy)
    sliced: BarsByTimeframe = {}
    for timeframe in strategy.timeframes():
        upto = slice_bars(bars[timeframe], None, end)
        first = int(upto.index.searchsorted(start, "left"))
        sliced[timeframe] = upto.iloc[max(0, first - keep) :]
    return sliced


def bundle_files(path: Path) -> dict[str, bytes]:
    """The files of the bundle folder ``path`` (weights, then bundle.json), to send to a job."""
    return {name: (Path(path) / name).read_bytes() for name in (WEIGHTS_FILE, MANIFEST_FILE)}
