"""Every domain error maps to an HTTP error status, never to a success."""

from __future__ import annotations

import pytest

import ktrdr.errors as errors
from ktrdr.errors import KtrdrError


def _all_error_classes() -> list[type[KtrdrError]]:
    return [
        value
        for value in vars(errors).values()
        if isinstance(value, type) and issubclass(value, KtrdrError)
    ]


@pytest.mark.parametrize("error_class", _all_error_classes(), ids=lambda cls: cls.__name__)
def test_every_error_has_an_error_status(error_class: type[KtrdrError]) -> None:
    assert 400 <= error_class.http_status < 600
