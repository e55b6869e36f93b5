"""Every ktrdr package's ``__all__`` lists exactly its public names, and each one imports."""

from __future__ import annotations

import importlib
import pkgutil
import types

import pytest

import ktrdr


def _packages() -> list[str]:
    names = [ktrdr.__name__]
    for info in pkgutil.walk_packages(ktrdr.__path__, prefix=f"{ktrdr.__name__}."):
        if info.ispkg and "migrations" not in info.name:
            names.append(info.name)
    return names


def _public_names(package: types.ModuleType) -> set[str]:
    return {
        name
        for name, value in vars(package).items()
        if (not name.startswith("_") or name == "__version__")
        and not isinstance(value, types.ModuleType)
        and name != "annotations"  # from __future__ import annotations
    }


@pytest.mark.parametrize("name", _packages())
def test_all_lists_exactly_the_public_names(name: str) -> None:
    package = importlib.import_module(name)
    exported = getattr(package, "__all__", [])
    assert len(exported) == len(set(exported)), f"{name}.__all__ repeats a name"
    for member in exported:
        assert hasattr(package, member), f"{name}.__all__ names {member!r}, which it lacks"
    assert sorted(exported) == sorted(_public_names(package))
