"""The package's __all__ and its real namespace stay in step."""

from __future__ import annotations

import inspect

import ktrdr.backtesting as backtesting


def test_every_exported_name_exists_and_every_public_name_is_exported():
    # Exports load on first use: resolve them all, so the check does not depend on test order.
    for name in backtesting.__all__:
        getattr(backtesting, name)
    public = {
        name
        for name, value in vars(backtesting).items()
        if not name.startswith("_") and not inspect.ismodule(value) and name != "annotations"
    }
    assert set(backtesting.__all__) == public
