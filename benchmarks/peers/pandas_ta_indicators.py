"""Time pandas-ta's own implementations of the features benchmark's indicators (peer side).

Runs under a separate Python >= 3.12 interpreter that has pandas-ta (benchmarks/features.py
creates it). Reads bars from an .npz (columns open, high, low, close, volume, and the index as
int64 ns), times each indicator (best and median of ``repeat`` runs after one warm-up call),
writes every output to ``out.npz`` as ``{indicator_id}.{output}`` and prints a JSON summary:

    python pandas_ta_indicators.py BARS.npz OUT.npz REPEAT
"""

from __future__ import annotations

import json
import statistics
import sys
import time
from collections.abc import Callable

import numpy as np
import pandas as pd
import pandas_ta as ta

Call = Callable[[pd.DataFrame], pd.Series | pd.DataFrame]

# indicator id -> (call with TA-Lib disabled, {our output name: pandas-ta column prefix})
INDICATORS: dict[str, tuple[Call, dict[str, str]]] = {
    "rsi_14": (lambda b: ta.rsi(b.close, 14, talib=False), {"value": "RSI_14"}),
    "ema_20": (lambda b: ta.ema(b.close, 20, talib=False), {"value": "EMA_20"}),
    "sma_50": (lambda b: ta.sma(b.close, 50, talib=False), {"value": "SMA_50"}),
    "macd_std": (
        lambda b: ta.macd(b.close, 12, 26, 9, talib=False),
        {"line": "MACD_", "signal": "MACDs_", "histogram": "MACDh_"},
    ),
    "atr_14": (lambda b: ta.atr(b.high, b.low, b.close, 14, talib=False), {"value": "ATRr_14"}),
    "bb_20": (
        lambda b: ta.bbands(b.close, 20, 2.0, 2.0, ddof=0, talib=False),
        {"upper": "BBU_", "middle": "BBM_", "lower": "BBL_"},
    ),
    "stoch_14": (
        lambda b: ta.stoch(b.high, b.low, b.close, 14, 3, 3, talib=False),
        {"k": "STOCHk_", "d": "STOCHd_"},
    ),
    "cci_20": (lambda b: ta.cci(b.high, b.low, b.close, 20, talib=False), {"value": "CCI_20"}),
    "adx_14": (
        lambda b: ta.adx(b.high, b.low, b.close, 14, talib=False),
        {"adx": "ADX_14", "plus_di": "DMP_14", "minus_di": "DMN_14"},
    ),
    "roc_10": (lambda b: ta.roc(b.close, 10, talib=False), {"value": "ROC_10"}),
}


def load_bars(path: str) -> pd.DataFrame:
    """Rebuild the bars DataFrame written by benchmarks/features.py."""
    data = np.load(path)
    index = pd.DatetimeIndex(data["timestamp"].astype("datetime64[ns]"), tz="UTC")
    columns = ("open", "high", "low", "close", "volume")
    return pd.DataFrame({c: data[c] for c in columns}, index=index)


def column(result: pd.Series | pd.DataFrame, prefix: str) -> np.ndarray:
    """The output whose name starts with ``prefix``, as float64."""
    if isinstance(result, pd.Series):
        return result.to_numpy(np.float64)
    (name,) = [c for c in result.columns if c.startswith(prefix)]
    return result[name].to_numpy(np.float64)


def main(bars_path: str, out_path: str, repeat: int) -> None:
    """Time every indicator, save its outputs, print the timings as JSON."""
    bars = load_bars(bars_path)
    timings: dict[str, dict[str, float]] = {}
    outputs: dict[str, np.ndarray] = {}
    for indicator_id, (call, names) in INDICATORS.items():
        call(bars.iloc[:1000])  # numba-compiled helpers compile here, not in the timing
        seconds = []
        for _ in range(repeat):
            start = time.perf_counter()
            result = call(bars)
            seconds.append(time.perf_counter() - start)
        timings[indicator_id] = {"best": min(seconds), "median": statistics.median(seconds)}
        for output, prefix in names.items():
            outputs[f"{indicator_id}.{output}"] = column(result, prefix)
    np.savez(out_path, **outputs)
    versions = {
        "python": sys.version.split()[0],
        "pandas-ta": ta.version,
        "pandas": pd.__version__,
        "numpy": np.__version__,
    }
    print(json.dumps({"timings": timings, "versions": versions}))


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2], int(sys.argv[3]))
