"""Specs for ``talib.<NAME>`` indicators, read from ``talib.abstract`` (see indicator_specs).

TA-Lib tells how many leading bars a function leaves undefined, not how long a recursive one
(EMA, RSI, KAMA, ...) remembers its first bar, so ktrdr measures that: it runs the function on a
seeded random walk from two starts and counts the bars until they agree to ``SETTLE_TOLERANCE``;
the warm-up is the lookback plus ``SETTLE_MARGIN`` times that. A function that never forgets its
start (OBV, AD and other running totals) cannot be a model input. The parabolic SAR forgets its
start only at a reversal both histories share, which a random walk understates; it takes the
catalogue's ``parabolicsar`` rule.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from functools import cache
from typing import Any

import numpy as np
from talib import abstract as talib_abstract
from talib import get_functions as talib_functions

from ktrdr.errors import ValidationError
from ktrdr.strategy._indicator_catalogue import (
    BAR_COLUMNS,
    SAR_REVERSALS,
    IndicatorSpec,
    ParamSpec,
)

TALIB_PREFIX = "talib."
MATYPE_MAX = 8  # TA-Lib moving-average types 0 (SMA) .. 8 (T3)
_PROBE_BARS = 64
SETTLE_PROBE_BARS = 4000  # plus SETTLE_PROBE_PER_LOOKBACK bars per lookback bar
SETTLE_PROBE_PER_LOOKBACK = 30
SETTLE_OFFSETS = 8  # later starts, spread over the first half of the probe
SETTLE_TOLERANCE = 1e-9  # of the output's scale: well under the 1e-6 the warm-up promises
SETTLE_MARGIN = 3
# path-dependent functions: bars until they forget their start, from their parameters
PATH_WARMUP = {
    "SAR": lambda p: math.ceil(SAR_REVERSALS / p["acceleration"]),
    "SAREXT": lambda p: math.ceil(
        SAR_REVERSALS / min(p["accelerationinitlong"], p["accelerationinitshort"])
    ),
}


def talib_function_name(spec: IndicatorSpec) -> str:
    """The TA-Lib function behind a ``talib.<NAME>`` spec, e.g. ``talib.KAMA`` -> ``KAMA``."""
    return spec.name[len(TALIB_PREFIX) :]


@cache
def talib_spec(function_name: str) -> IndicatorSpec:
    """Build the spec of TA-Lib function ``function_name`` (upper case, e.g. ``KAMA``)."""
    if function_name not in set(talib_functions()):
        raise ValidationError(
            f"unknown TA-Lib function 'talib.{function_name}'; allowed: any name in "
            "talib.get_functions(), e.g. talib.KAMA, talib.STOCHRSI"
        )
    info = talib_abstract.Function(function_name).info
    inputs = _input_columns(info["input_names"])
    unsupported = [name for name in inputs if name not in BAR_COLUMNS]
    if unsupported:
        raise ValidationError(
            f"talib.{function_name} needs inputs {unsupported} that are not bar columns "
            f"({', '.join(BAR_COLUMNS)}); it cannot be used as an indicator"
        )
    outputs = tuple(name.lower() for name in info["output_names"])
    return IndicatorSpec(
        name=f"{TALIB_PREFIX}{function_name}",
        aliases=(),
        params=tuple(_param(name, default) for name, default in info["parameters"].items()),
        outputs=outputs if len(outputs) > 1 else (),
        inputs=inputs,
        description=f"TA-Lib {info['display_name']} ({info['group']})",
    )


def talib_param_issues(
    spec: IndicatorSpec, resolved: dict[str, Any], given: Mapping[str, Any]
) -> list[tuple[str, str]]:
    """Ask TA-Lib whether it accepts ``resolved`` (it exposes no parameter ranges to Python)."""
    function = talib_abstract.Function(talib_function_name(spec))
    function.set_parameters(**resolved)
    try:
        function.run({column: _probe_column(column) for column in spec.inputs})
    except Exception as exc:
        names = ", ".join(given) or "parameters"
        return [(names, f"TA-Lib rejected {dict(given)} for {spec.name}: {exc}")]
    return []


def talib_lookback(spec: IndicatorSpec, resolved: dict[str, Any]) -> int:
    """TA-Lib's own count of leading NaN bars for these parameters."""
    function = talib_abstract.Function(talib_function_name(spec))
    function.set_parameters(**resolved)
    return int(function.lookback)


def talib_warmup(spec: IndicatorSpec, resolved: dict[str, Any]) -> int:
    """Leading bars until the value no longer depends on where the history starts (measured)."""
    settle = _settle_bars(talib_function_name(spec), tuple(sorted(resolved.items())))
    if settle is None:
        raise ValidationError(_never_settles(spec))
    lookback = talib_lookback(spec, resolved)
    measured = lookback + SETTLE_MARGIN * max(0, settle - lookback)
    rule = PATH_WARMUP.get(talib_function_name(spec))
    return max(measured, rule(resolved)) if rule else measured


def talib_settle_issues(spec: IndicatorSpec, resolved: dict[str, Any]) -> list[tuple[str, str]]:
    """``[(name, message)]`` when the function never forgets its first bar; [] otherwise."""
    settle = _settle_bars(talib_function_name(spec), tuple(sorted(resolved.items())))
    return [(spec.name, _never_settles(spec))] if settle is None else []


def _never_settles(spec: IndicatorSpec) -> str:
    return (
        f"{spec.name} never forgets the first bar it is given (a running total or a count from "
        "it), so its value depends on where the history starts and a backtest would not see what "
        "the model trained on; use a catalogue indicator (obv and adline are rolling sums)"
    )


@cache
def _settle_bars(function_name: str, params: tuple[tuple[str, Any], ...]) -> int | None:
    """Bars from a start until the function agrees with a longer history; None if it never does."""
    function = talib_abstract.Function(function_name)
    function.set_parameters(**dict(params))
    length = SETTLE_PROBE_BARS + SETTLE_PROBE_PER_LOOKBACK * int(function.lookback)
    columns = _settle_probe(length)
    inputs = _input_columns(function.info["input_names"])
    full = _outputs(function.run({c: columns[c] for c in inputs}))
    settle = 0
    for k in range(1, SETTLE_OFFSETS + 1):
        offset = k * length // (2 * SETTLE_OFFSETS)
        late = _outputs(function.run({c: columns[c][offset:] for c in inputs}))
        bars = _bars_until_equal([early[offset:] for early in full], late)
        if bars > (length - offset) * 3 // 4:
            return None
        settle = max(settle, bars)
    return settle


def _bars_until_equal(early: list[np.ndarray], late: list[np.ndarray]) -> int:
    """Bars from the start of ``late`` until every output equals ``early`` to the tolerance."""
    last_difference = -1
    for reference, values in zip(early, late, strict=True):
        scale = float(np.nanmax(np.abs(reference), initial=0.0)) or 1.0
        same = np.abs(reference - values) <= SETTLE_TOLERANCE * scale
        differs = np.flatnonzero(~(same | (np.isnan(reference) & np.isnan(values))))
        if differs.size:
            last_difference = max(last_difference, int(differs[-1]))
    return last_difference + 1


def _outputs(result: Any) -> list[np.ndarray]:
    values = result if isinstance(result, list) else [result]
    return [np.asarray(v, dtype=np.float64) for v in values]


@cache
def _settle_probe(length: int) -> dict[str, np.ndarray]:
    """Seeded random-walk bars with volatility regimes, consistent OHLC and positive volume."""
    rng = np.random.default_rng(20240607)
    volatility = 0.004 * np.exp(np.cumsum(rng.normal(0.0, 0.05, length)).clip(-2.0, 2.0))
    close = 100.0 * np.exp(np.cumsum(rng.normal(0.0, 1.0, length) * volatility))
    open_ = np.concatenate([[100.0], close[:-1]])
    spread = np.abs(rng.normal(0.0, 1.0, length)) * volatility * close
    return {
        "open": open_,
        "high": np.maximum(open_, close) + spread,
        "low": np.minimum(open_, close) - spread,
        "close": close,
        "volume": rng.lognormal(math.log(1000.0), 0.5, length),
    }


def _input_columns(input_names: Mapping[str, Any]) -> tuple[str, ...]:
    columns: list[str] = []
    for value in input_names.values():
        for column in [value] if isinstance(value, str) else value:
            if column not in columns:
                columns.append(column)
    return tuple(columns)


def _param(name: str, default: Any) -> ParamSpec:
    if "matype" in name:
        return ParamSpec(name, int, int(default), 0, MATYPE_MAX)
    kind = int if isinstance(default, int) else float
    return ParamSpec(name, kind, kind(default))


def _probe_column(column: str) -> np.ndarray:
    if column == "volume":
        return np.full(_PROBE_BARS, 1000.0)
    close = 100.0 + np.sin(np.arange(_PROBE_BARS, dtype=np.float64) / 3.0)
    return close + {"open": 0.0, "high": 1.0, "low": -1.0, "close": 0.0}[column]
