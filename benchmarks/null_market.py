"""A null market for the validity benchmark: driftless random-walk OHLCV bars, and a shuffled
copy of a real series (same returns, time order destroyed). Neither holds anything to learn, so
a research loop that calls either "promising" or "confirmed" is reporting luck.

    .venv/bin/python benchmarks/null_market.py random_walk out.csv --bars 8000 --seed 1
    .venv/bin/python benchmarks/null_market.py shuffled out.csv --symbol BTCUSD --timeframe 1h
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import pandas as pd

from ktrdr.data import DataRepository
from ktrdr.settings import get_settings

HOURLY_VOLATILITY = 0.004  # about BTCUSD's median hourly log-return std over 2018-2022
START = "2019-01-01"


def random_walk_bars(n_bars: int, seed: int, volatility: float = HOURLY_VOLATILITY) -> pd.DataFrame:
    """Hourly OHLCV bars whose log closes are a driftless Gaussian random walk."""
    rng = np.random.default_rng(seed)
    log_returns = rng.normal(0.0, volatility, n_bars)
    log_returns -= log_returns.mean()  # no drift at all, not just none on average
    return _bars_from_returns(log_returns, rng, pd.date_range(START, periods=n_bars, freq="1h"))


def shuffled_bars(bars: pd.DataFrame, seed: int) -> pd.DataFrame:
    """The same bar-to-bar log returns as ``bars`` in a random order, on its timestamps."""
    rng = np.random.default_rng(seed)
    log_returns = np.diff(np.log(bars["close"].to_numpy()), prepend=np.log(bars["open"].iloc[0]))
    return _bars_from_returns(rng.permutation(log_returns), rng, bars.index)


def _bars_from_returns(
    log_returns: np.ndarray, rng: np.random.Generator, index: pd.DatetimeIndex
) -> pd.DataFrame:
    close = 100.0 * np.exp(np.cumsum(log_returns))
    open_ = np.concatenate([[100.0], close[:-1]])
    wiggle = np.abs(rng.normal(0.0, np.std(log_returns) / 2, (2, len(close))))
    high = np.maximum(open_, close) * np.exp(wiggle[0])
    low = np.minimum(open_, close) * np.exp(-wiggle[1])
    volume = rng.lognormal(10.0, 0.5, len(close))
    frame = pd.DataFrame(
        {"open": open_, "high": high, "low": low, "close": close, "volume": volume},
        index=pd.DatetimeIndex(index, name="timestamp"),
    )
    return frame.tz_localize("UTC") if frame.index.tz is None else frame


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("kind", choices=("random_walk", "shuffled"))
    parser.add_argument("out", type=Path, help="CSV file to write")
    parser.add_argument("--bars", type=int, default=8000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--symbol", default="BTCUSD", help="shuffled: the bundled series")
    parser.add_argument("--timeframe", default="1h")
    arguments = parser.parse_args()
    if arguments.kind == "random_walk":
        bars = random_walk_bars(arguments.bars, arguments.seed)
    else:
        data = DataRepository(get_settings().path("data"))  # imported data, then the samples
        bars = shuffled_bars(data.load(arguments.symbol, arguments.timeframe), arguments.seed)
    bars.to_csv(arguments.out)


if __name__ == "__main__":
    main()
