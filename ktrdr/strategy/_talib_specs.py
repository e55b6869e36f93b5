"""Specs for ``talib.<NAME>`` indicators, read from ``talib.abstract`` (see indicator_specs)."""

from __future__ import annotations

from collections.abc import Mapping
from functools import cache
from typing import Any

import numpy as np
from talib import abstract as talib_abstract
from talib import get_functions as talib_functions

from ktrdr.errors import ValidationError
from ktrdr.strategy._indicator_catalogue import BAR_COLUMNS, IndicatorSpec, ParamSpec

TALIB_PREFIX = "talib."
MATYPE_MAX = 8  # TA-Lib moving-average types 0 (SMA) .. 8 (T3)
_PROBE_BARS = 64


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
