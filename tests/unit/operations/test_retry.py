"""retry_transient: transient errors are retried until a deadline, others are not."""

from __future__ import annotations

import pytest

from ktrdr.errors import TransientError, ValidationError
from ktrdr.operations import retry as retry_module
from ktrdr.operations.retry import retry_transient


@pytest.fixture(autouse=True)
def no_sleep(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    slept: list[float] = []
    monkeypatch.setattr(retry_module.time, "sleep", slept.append)
    return slept


def test_a_transient_failure_is_retried_until_the_write_succeeds(no_sleep: list[float]) -> None:
    attempts = iter([TransientError("db down"), TransientError("db down"), None])

    def write() -> str:
        error = next(attempts)
        if error:
            raise error
        return "written"

    assert retry_transient(write, "write") == "written"
    assert len(no_sleep) == 2 and no_sleep[1] > no_sleep[0]


def test_other_errors_are_not_retried(no_sleep: list[float]) -> None:
    def write() -> None:
        raise ValidationError("bad")

    with pytest.raises(ValidationError):
        retry_transient(write, "write")
    assert no_sleep == []


def test_it_gives_up_after_the_deadline() -> None:
    def write() -> None:
        raise TransientError("still down")

    with pytest.raises(TransientError, match="still down"):
        retry_transient(write, "write", give_up_after=0.0)
