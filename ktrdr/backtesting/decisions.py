"""Turn model class probabilities into target positions, aware of the position already held."""

from __future__ import annotations

import math
import operator

import numpy as np

from ktrdr.backtesting.nb import decide_positions_nb
from ktrdr.errors import ValidationError


def _check_probabilities(probabilities: object) -> np.ndarray:
    try:
        probs = np.asarray(probabilities, dtype=np.float64)
    except (TypeError, ValueError):
        raise ValidationError("probabilities must be an (n, 3) array of numbers") from None
    if probs.ndim != 2 or probs.shape[1] != 3:
        raise ValidationError(
            f"probabilities has shape {probs.shape}: need (n, 3) columns (sell, hold, buy)"
        )
    bad_rows = np.flatnonzero(~np.all((probs >= 0.0) & (probs <= 1.0), axis=1))
    if len(bad_rows):
        row = int(bad_rows[0])
        raise ValidationError(
            f"probabilities row {row} is {probs[row].tolist()}: values must be in [0, 1], not NaN "
            f"({len(bad_rows)} bad rows in all)"
        )
    return np.ascontiguousarray(probs)


def _check_threshold(confidence_threshold: object) -> float:
    message = f"confidence_threshold must be a number in [0, 1], got {confidence_threshold!r}"
    try:
        threshold = float(confidence_threshold)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        raise ValidationError(message) from None
    if not (math.isfinite(threshold) and 0.0 <= threshold <= 1.0):
        raise ValidationError(message)
    return threshold


def decide_positions(
    probabilities: np.ndarray,
    *,
    confidence_threshold: float,
    allow_short_from_flat: bool = True,
    min_signal_separation: int = 0,
) -> np.ndarray:
    """Return int8 target positions (-1, 0, +1) from (n, 3) sell/hold/buy probabilities.

    At each bar the signal is the most probable class (ties go to the lower index: SELL, then
    HOLD); it counts only when its probability >= ``confidence_threshold``, else it is HOLD.
    From the position held: BUY opens a long from flat, closes a short to flat, keeps a long;
    SELL closes a long to flat, opens a short from flat only if ``allow_short_from_flat``, keeps
    a short; HOLD keeps the position. A change is applied only when at least
    ``min_signal_separation`` bars have passed since the previous change (0 or 1: no limit).
    Example: rows [.1,.2,.7], [.6,.3,.1], [.7,.2,.1] with threshold 0.5 give [1, 0, -1].
    """
    probs = _check_probabilities(probabilities)
    threshold = _check_threshold(confidence_threshold)
    try:
        separation = operator.index(min_signal_separation)
    except TypeError:
        raise ValidationError(
            f"min_signal_separation must be an integer >= 0, got {min_signal_separation!r}"
        ) from None
    if separation < 0:
        raise ValidationError(f"min_signal_separation must be >= 0, got {separation}")
    return decide_positions_nb(probs, threshold, bool(allow_short_from_flat), separation)
