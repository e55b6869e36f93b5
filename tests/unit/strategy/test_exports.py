"""``ktrdr.strategy.__all__`` and the package namespace stay in step."""

from __future__ import annotations

import ktrdr.strategy as strategy

SUBMODULES = {
    "catalog",
    "io",
    "schema",
    "validator",
    "indicator_specs",
    "membership_specs",
}


def test_all_names_exist():
    assert [name for name in strategy.__all__ if not hasattr(strategy, name)] == []


def test_every_public_name_is_exported():
    public = {
        name
        for name in vars(strategy)
        if not name.startswith("_") and name not in SUBMODULES and name != "annotations"
    }
    assert public == set(strategy.__all__)
