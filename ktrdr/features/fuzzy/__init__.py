"""Fuzzy membership degrees of indicator values (triangular, trapezoidal, gaussian, sigmoid)."""

from __future__ import annotations

from ktrdr.features.fuzzy._membership import membership_degrees

__all__ = ["membership_degrees"]
