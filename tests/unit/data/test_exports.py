from __future__ import annotations

import ktrdr.data


def test_all_matches_public_namespace():
    public = {
        name
        for name, value in vars(ktrdr.data).items()
        if not name.startswith("_") and getattr(value, "__module__", "").startswith("ktrdr.data")
    }
    public |= {"BAR_COLUMNS", "TIMEFRAMES"}
    assert sorted(ktrdr.data.__all__) == sorted(public)
    assert all(hasattr(ktrdr.data, name) for name in ktrdr.data.__all__)
