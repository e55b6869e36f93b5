"""The ktrdr API from Python: ``Client`` for notebooks and scripts, ``ApiClient`` for the CLI."""

from __future__ import annotations

from ktrdr.lazy import lazy_exports as _lazy_exports

_EXPORTS = {
    "ApiClient": "http",
    "ApiError": "http",
    "Client": "client",
    "Operation": "results",
    "Report": "results",
    "Rows": "results",
}

__all__ = sorted(_EXPORTS)

__getattr__ = _lazy_exports(__name__, _EXPORTS)
