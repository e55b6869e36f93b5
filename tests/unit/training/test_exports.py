from __future__ import annotations

import inspect

import ktrdr.training
import ktrdr.training.models


def test_all_lists_exactly_the_public_names() -> None:
    for package in (ktrdr.training, ktrdr.training.models):
        for name in package.__all__:  # ktrdr.training imports its names on first use
            getattr(package, name)
        public = {
            name
            for name, value in vars(package).items()
            if not name.startswith("_") and not inspect.ismodule(value) and name != "annotations"
        }
        assert public == set(package.__all__), package.__name__
