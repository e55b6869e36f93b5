"""compute_indicator: one entry point for catalogue and ``talib.<NAME>`` indicators."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd
from talib import abstract as talib_abstract

from ktrdr.errors import DataError
from ktrdr.features.indicators._arrays import Arrays
from ktrdr.features.indicators._custom import CUSTOM
from ktrdr.features.indicators._talib_based import TALIB_BASED
from ktrdr.strategy import (
    TALIB_PREFIX,
    IndicatorSpec,
    get_indicator_spec,
    is_talib_spec,
    resolve_indicator_params,
    warmup_bars,
)

INDICATOR_FUNCTIONS = {**TALIB_BASED, **CUSTOM}


def compute_indicator(
    type_name: str, params: Mapping[str, Any], bars: pd.DataFrame
) -> dict[str, np.ndarray]:
    """Compute an indicator on bars; float64 arrays aligned with the bars, NaN during warm-up.

    Keys are the spec's outputs (``macd`` -> line, signal, histogram) or ``"value"`` for a
    single output. Causal: the value at bar t uses bars <= t only. An indicator is NaN for its
    ``warmup_bars``, so every value it gives is the same whatever bar the history
    starts at. ``compute_indicator("rsi", {"period": 14}, bars)["value"]``.
    """
    spec = get_indicator_spec(type_name)
    resolved = resolve_indicator_params(type_name, params)
    data = _bar_arrays(bars, spec, resolved)
    raw = (
        _run_talib(spec, resolved, data)
        if is_talib_spec(spec)
        else INDICATOR_FUNCTIONS[spec.name](data, resolved)
    )
    warmup = warmup_bars(type_name, params)
    outputs = {}
    for name, values in raw.items():
        # integer outputs (candlestick patterns) carry 0, not NaN, during TA-Lib's lookback, and
        # a recursive value still remembers where the history started
        floats = np.array(values, dtype=np.float64)
        floats[:warmup] = np.nan
        outputs[name] = floats
    return outputs


def _bar_arrays(bars: pd.DataFrame, spec: IndicatorSpec, params: dict[str, Any]) -> Arrays:
    if not isinstance(bars, pd.DataFrame):
        raise DataError(f"{spec.name}: bars must be a pandas DataFrame, got {type(bars).__name__}")
    needed = list(spec.inputs)
    if "source" in params and params["source"] not in needed:
        needed.append(params["source"])
    missing = [column for column in needed if column not in bars.columns]
    if missing:
        raise DataError(
            f"{spec.name} needs bar columns {missing}; the bars have {list(bars.columns)}"
        )
    return {c: np.ascontiguousarray(bars[c].to_numpy(dtype=np.float64)) for c in needed}


def _run_talib(spec: IndicatorSpec, params: dict[str, Any], data: Arrays) -> Arrays:
    function = talib_abstract.Function(spec.name.removeprefix(TALIB_PREFIX))
    function.set_parameters(**params)
    result = function.run(data)
    raw = [result] if not spec.outputs else result
    return dict(zip(spec.outputs or ("value",), raw, strict=True))
