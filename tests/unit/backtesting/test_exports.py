"""The package's __all__ and its real namespace stay in step."""

from __future__ import annotations

import ktrdr.backtesting as backtesting


def test_every_exported_name_exists_and_every_public_name_is_exported():
    public = {name for name in vars(backtesting) if not name.startswith("_")}
    modules = {"decisions", "metrics", "nb", "simulator", "annotations"}
    assert set(backtesting.__all__) == public - modules
