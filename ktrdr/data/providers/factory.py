"""``provider_for``: the adapter named by a source string, its library imported only then."""

from __future__ import annotations

from ktrdr.data.providers.base import Provider, check_base_url, check_source


def provider_for(source: str, *, base_url: str | None = None) -> Provider:
    """The provider named by ``source``; ``base_url`` replaces the scheme and host of its URLs."""
    if base_url is not None:
        check_base_url(base_url)
    kind, _, exchange = check_source(source).partition(":")
    if kind == "ccxt":
        from ktrdr.data.providers.ccxt_provider import CcxtProvider

        return CcxtProvider(exchange, base_url=base_url)
    from ktrdr.data.providers.yfinance_provider import YfinanceProvider

    return YfinanceProvider(base_url=base_url)
