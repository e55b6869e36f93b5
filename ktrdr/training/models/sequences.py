"""Causal sliding windows for recurrent models."""

from __future__ import annotations

import numpy as np

from ktrdr.errors import ValidationError


def make_sequences(features: np.ndarray, lookback: int) -> np.ndarray:
    """Stack rows into causal windows of shape (n - lookback + 1, lookback, n_features).

    Window k holds rows k .. k + lookback - 1, so it ends at row k + lookback - 1 and uses no
    later row; pair it with label index k + lookback - 1 (see ``sequence_labels``). E.g. 100
    rows with lookback 10 give 91 windows, the first aligned with label 9.
    """
    if features.ndim != 2:
        raise ValidationError(f"features: expected 2-D (rows, features), got {features.shape}")
    if isinstance(lookback, bool) or not isinstance(lookback, int) or lookback < 1:
        raise ValidationError(f"lookback: must be an integer >= 1, got {lookback!r}")
    if len(features) < lookback:
        raise ValidationError(
            f"features: {len(features)} rows are fewer than lookback {lookback}; "
            "need at least one full window"
        )
    windows = np.lib.stride_tricks.sliding_window_view(features, lookback, axis=0)
    return np.ascontiguousarray(windows.transpose(0, 2, 1))


def sequence_labels(labels: np.ndarray, lookback: int) -> np.ndarray:
    """Return the labels aligned with ``make_sequences`` windows: ``labels[lookback - 1:]``."""
    if isinstance(lookback, bool) or not isinstance(lookback, int) or lookback < 1:
        raise ValidationError(f"lookback: must be an integer >= 1, got {lookback!r}")
    return labels[lookback - 1 :]
