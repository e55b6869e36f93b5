"""Technical indicators of the catalogue (TA-Lib and own) and any ``talib.<NAME>`` function."""

from __future__ import annotations

from ktrdr.features.indicators._compute import compute_indicator

__all__ = ["compute_indicator"]
