"""ktrdr: autonomous research of neuro-fuzzy trading strategies."""

from __future__ import annotations

from ktrdr.lazy import lazy_exports as _lazy_exports

__version__ = "0.1.0"

__all__ = ["Client", "__version__"]

__getattr__ = _lazy_exports(__name__, {"Client": "client"})
