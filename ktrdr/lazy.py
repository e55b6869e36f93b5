"""Package exports imported on first use (PEP 562), so importing a package stays cheap.

The API server imports ``ktrdr.training.service`` and ``ktrdr.backtesting.service`` only; with
lazy package exports it never loads torch or compiles numba kernels.
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Callable, Mapping


def lazy_exports(package: str, exports: Mapping[str, str]) -> Callable[[str], object]:
    """A module ``__getattr__`` importing ``<package>.<exports[name]>`` when ``name`` is first read.

    ``exports`` maps each exported name to the submodule that defines it, e.g.
    ``{"Predictor": "predictor"}``; the value is kept on the package after the first read.
    """

    def __getattr__(name: str) -> object:
        if name not in exports:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        value = getattr(importlib.import_module(f"{package}.{exports[name]}"), name)
        setattr(sys.modules[package], name, value)
        return value

    return __getattr__
