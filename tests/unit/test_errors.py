"""Every domain error maps to an HTTP error status, never to a success."""

from __future__ import annotations

import pytest

import ktrdr.errors as errors
from ktrdr.api.errors import ktrdr_error_response
from ktrdr.errors import GateFailedError, KtrdrError


def _all_error_classes() -> list[type[KtrdrError]]:
    return [
        value
        for value in vars(errors).values()
        if isinstance(value, type) and issubclass(value, KtrdrError)
    ]


@pytest.mark.parametrize("error_class", _all_error_classes(), ids=lambda cls: cls.__name__)
def test_every_error_has_an_error_status(error_class: type[KtrdrError]) -> None:
    assert 400 <= error_class.http_status < 600


def test_a_gate_failure_that_escapes_to_a_request_is_a_server_error() -> None:
    response = ktrdr_error_response(
        GateFailedError("Training gate failed: x", gate="training", reason="x")
    )
    assert response.status_code == 500
    assert b'"code":"gate_failed"' in response.body
