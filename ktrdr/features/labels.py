"""Training labels: zigzag, triple-barrier and forward-return classes for every bar.

Labels look forward (DESIGN §1: features never, labels may). Classes follow the contract
0 = SELL, 1 = HOLD, 2 = BUY; -1 marks a bar whose label is undefined (volatility warm-up, or
the data ends before the label can be decided). ``LabelResult.horizon[t]`` is the index of the
last bar the label at ``t`` looked at, so the split can purge labels that cross a boundary.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from ktrdr.errors import ValidationError
from ktrdr.features._labels_nb import NO_LABEL, first_touch_labels_nb

logger = logging.getLogger(__name__)

LABEL_NAMES = ("sell", "hold", "buy")
LABEL_SOURCES = ("zigzag", "triple_barrier", "forward_return")
DEFAULT_ZIGZAG_MAX_HORIZON = 100
DEFAULT_VOL_SPAN = 20

_PREFIX = "training.labels."

_SECTION_KEYS = {
    "zigzag": ({"zigzag_threshold"}, set()),
    "triple_barrier": ({"pt_multiplier", "sl_multiplier", "max_holding_period"}, {"vol_span"}),
    "forward_return": ({"horizon"}, {"threshold"}),
}


@dataclass(frozen=True)
class LabelResult:
    """Class per bar (int8, -1 = undefined) and the last bar index each label looked at (int64)."""

    labels: np.ndarray
    horizon: np.ndarray

    @property
    def defined(self) -> np.ndarray:
        """Mask of bars that have a label (class 0, 1 or 2)."""
        return self.labels != NO_LABEL

    @property
    def max_lookahead(self) -> int:
        """Most bars any defined label looked forward (12 if one used bar t+12): the embargo."""
        steps = self.horizon - np.arange(self.horizon.shape[0])
        return int(steps[self.defined].max(initial=0))


def zigzag_labels(
    bars: pd.DataFrame, threshold: float, max_horizon: int = DEFAULT_ZIGZAG_MAX_HORIZON
) -> LabelResult:
    """Label bar t by which close, among t+1..t+max_horizon, first moves ±threshold from close[t].

    threshold 0.004: BUY at the first ``close[j] >= close[t] * 1.004``, SELL at the first
    ``close[j] <= close[t] * 0.996``; HOLD if neither within ``max_horizon`` bars; -1 if the data
    ends first. Horizon = the touching bar, else ``t + max_horizon`` (``n - 1`` for -1).
    """
    _check_fraction("threshold", threshold)
    _check_positive_int("max_horizon", max_horizon)
    close = _column(bars, "close")
    labels, horizon = first_touch_labels_nb(
        close * (1.0 + threshold), close * (1.0 - threshold), close, close, max_horizon
    )
    return LabelResult(labels, horizon)


def triple_barrier_labels(
    bars: pd.DataFrame,
    pt_multiplier: float,
    sl_multiplier: float,
    max_holding_period: int,
    vol_span: int = DEFAULT_VOL_SPAN,
) -> LabelResult:
    """Label bar t by the first barrier that bars t+1..t+max_holding_period touch.

    vol[t] = EWM std (span ``vol_span``) of close-to-close returns up to t — causal, undefined
    (label -1) for the first ``vol_span`` bars and where it is 0. With close 100, vol 0.01,
    pt 2, sl 1: BUY when a high reaches 102, SELL when a low reaches 99; a bar that reaches both
    is SELL (the order inside a bar is unknown, so assume the worse); no touch in time is HOLD.
    """
    _check_positive_float("pt_multiplier", pt_multiplier)
    _check_positive_float("sl_multiplier", sl_multiplier)
    _check_positive_int("max_holding_period", max_holding_period)
    _check_positive_int("vol_span", vol_span, minimum=2)
    close = _column(bars, "close")
    volatility = ewm_volatility(close, vol_span)
    volatility[volatility <= 0.0] = np.nan
    labels, horizon = first_touch_labels_nb(
        close * (1.0 + pt_multiplier * volatility),
        close * (1.0 - sl_multiplier * volatility),
        _column(bars, "high"),
        _column(bars, "low"),
        max_holding_period,
    )
    return LabelResult(labels, horizon)


def ewm_volatility(close: np.ndarray, span: int) -> np.ndarray:
    """EWM std (span ``span``) of close-to-close returns; NaN until ``span`` returns exist."""
    returns = np.full(close.shape[0], np.nan)
    returns[1:] = close[1:] / close[:-1] - 1.0
    volatility = pd.Series(returns).ewm(span=span, min_periods=span).std()
    return volatility.to_numpy(dtype=np.float64, copy=True)


def forward_return_labels(bars: pd.DataFrame, horizon: int, threshold: float = 0.0) -> LabelResult:
    """Label bar t by r = close[t+horizon] / close[t] - 1 against ±threshold.

    BUY if r > threshold, SELL if r < -threshold, HOLD otherwise (with threshold 0.0 only
    when r == 0); -1 for the last ``horizon`` bars. horizon 12, threshold 0.001: close 100 ->
    100.2 twelve bars later is BUY. A data-derived threshold must be fitted by the caller on
    the train part only.
    """
    _check_positive_int("horizon", horizon)
    _check_non_negative_float("threshold", threshold)
    close = _column(bars, "close")
    n = close.shape[0]
    labels = np.full(n, NO_LABEL, dtype=np.int8)
    ends = np.minimum(np.arange(n, dtype=np.int64) + horizon, max(n - 1, 0))
    if n > horizon:
        returns = close[horizon:] / close[:-horizon] - 1.0
        labels[: n - horizon] = np.where(
            returns > threshold, 2, np.where(returns < -threshold, 0, 1)
        )
        labels[: n - horizon][~np.isfinite(returns)] = NO_LABEL
    return LabelResult(labels, ends)


def make_labels(bars: pd.DataFrame, labels_section: Mapping[str, Any]) -> LabelResult:
    """Compute the labels a strategy's ``training.labels`` section asks for.

    ``{"source": "zigzag", "zigzag_threshold": 0.004}``, ``{"source": "triple_barrier",
    "pt_multiplier": 2, "sl_multiplier": 1, "max_holding_period": 24, "vol_span": 20}`` or
    ``{"source": "forward_return", "horizon": 12, "threshold": 0.001}``.
    """
    source = labels_section.get("source")
    if source not in _SECTION_KEYS:
        raise ValidationError(
            f"training.labels.source: unknown label source {source!r}; "
            f"allowed: {', '.join(LABEL_SOURCES)}"
        )
    params = _section_params(source, labels_section)
    if source == "zigzag":
        _check_fraction("zigzag_threshold", params["zigzag_threshold"], prefix=_PREFIX)
        result = zigzag_labels(bars, params["zigzag_threshold"])
    elif source == "triple_barrier":
        for key in ("pt_multiplier", "sl_multiplier"):
            _check_positive_float(key, params[key], prefix=_PREFIX)
        _check_positive_int("max_holding_period", params["max_holding_period"], prefix=_PREFIX)
        vol_span = params.get("vol_span", DEFAULT_VOL_SPAN)
        _check_positive_int("vol_span", vol_span, minimum=2, prefix=_PREFIX)
        result = triple_barrier_labels(
            bars,
            params["pt_multiplier"],
            params["sl_multiplier"],
            params["max_holding_period"],
            vol_span,
        )
    else:
        _check_positive_int("horizon", params["horizon"], prefix=_PREFIX)
        threshold = params.get("threshold")
        threshold = 0.0 if threshold is None else threshold
        _check_non_negative_float("threshold", threshold, prefix=_PREFIX)
        result = forward_return_labels(bars, params["horizon"], threshold)
    logger.debug("labels %s: %s", source, label_distribution(result.labels))
    return result


def label_distribution(labels: np.ndarray) -> dict[str, int]:
    """Count the classes, ignoring -1: labels [0, 2, 2, -1] -> {"sell": 1, "hold": 0, "buy": 2}."""
    values = np.asarray(labels)
    if ((values < NO_LABEL) | (values >= len(LABEL_NAMES))).any():
        raise ValidationError(f"labels must be -1, 0, 1 or 2, got values {np.unique(values)}")
    counts = np.bincount(values[values >= 0].astype(np.int64), minlength=len(LABEL_NAMES))
    return {name: int(count) for name, count in zip(LABEL_NAMES, counts, strict=True)}


# -- validation --------------------------------------------------------------------------------


def _section_params(source: str, section: Mapping[str, Any]) -> dict[str, Any]:
    required, optional = _SECTION_KEYS[source]
    params = {key: value for key, value in section.items() if key != "source"}
    unknown = sorted(set(params) - required - optional)
    if unknown:
        allowed = ", ".join(sorted(required | optional))
        raise ValidationError(
            f"{_PREFIX}{unknown[0]}: unknown key for source {source!r}; allowed: {allowed}"
        )
    missing = sorted(required - set(params))
    if missing:
        raise ValidationError(f"{_PREFIX}{missing[0]}: required for source {source!r}")
    return params


def _column(bars: pd.DataFrame, name: str) -> np.ndarray:
    if name not in bars.columns:
        raise ValidationError(
            f"bars lack the {name!r} column; labels need open, high, low, close, volume"
        )
    return bars[name].to_numpy(dtype=np.float64)


def _is_real(value: Any) -> bool:
    return isinstance(value, int | float | np.integer | np.floating) and not isinstance(
        value, bool | np.bool_
    )


def _check_positive_float(name: str, value: Any, *, prefix: str = "") -> None:
    if not (_is_real(value) and math.isfinite(value) and value > 0):
        raise ValidationError(f"{prefix}{name} must be a finite number > 0, got {value!r}")


def _check_non_negative_float(name: str, value: Any, *, prefix: str = "") -> None:
    if not (_is_real(value) and math.isfinite(value) and value >= 0):
        raise ValidationError(f"{prefix}{name} must be a finite number >= 0, got {value!r}")


def _check_fraction(name: str, value: Any, *, prefix: str = "") -> None:
    if not (_is_real(value) and 0 < value < 1):
        raise ValidationError(
            f"{prefix}{name} must be a fraction in (0, 1), e.g. 0.004 = 0.4 %, got {value!r}"
        )


def _check_positive_int(name: str, value: Any, *, minimum: int = 1, prefix: str = "") -> None:
    integral = isinstance(value, int | np.integer) and not isinstance(value, bool | np.bool_)
    if not (integral and value >= minimum):
        raise ValidationError(f"{prefix}{name} must be an integer >= {minimum}, got {value!r}")
