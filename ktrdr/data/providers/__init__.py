"""Market data sources behind one interface: ``ccxt:<exchange>`` and ``yfinance`` (DESIGN §14).

The adapters import their libraries lazily (inside ``provider_for``), so importing this package
costs nothing and the server starts fast.
"""

from __future__ import annotations

from ktrdr.data.providers.base import (
    SOURCES_HELP,
    Provider,
    check_base_url,
    check_source,
    rebase_url,
)
from ktrdr.data.providers.factory import provider_for

__all__ = [
    "SOURCES_HELP",
    "Provider",
    "check_base_url",
    "check_source",
    "provider_for",
    "rebase_url",
]
