"""The status sets and the transition table."""

from __future__ import annotations

import re
from datetime import UTC, datetime

import pytest

from ktrdr.operations.models import (
    ACTIVE_STATUSES,
    TERMINAL_STATUSES,
    TRANSITIONS,
    OperationStatus,
    OperationType,
    Trigger,
    new_operation_id,
    next_status,
)


def test_status_sets_partition_the_enum() -> None:
    assert set(OperationStatus) == ACTIVE_STATUSES | TERMINAL_STATUSES
    assert not ACTIVE_STATUSES & TERMINAL_STATUSES


@pytest.mark.parametrize("status", list(OperationStatus))
@pytest.mark.parametrize("trigger", list(Trigger))
def test_transition_table(status: OperationStatus, trigger: Trigger) -> None:
    target = next_status(status, trigger)
    if status in TERMINAL_STATUSES:
        assert target is None, "terminal states never change"
    elif (status, trigger) in TRANSITIONS:
        assert target == TRANSITIONS[(status, trigger)]
    else:
        assert target is None


def test_terminal_triggers_lead_to_terminal_states() -> None:
    for (_, trigger), target in TRANSITIONS.items():
        if trigger in {Trigger.COMPLETE, Trigger.FAIL, Trigger.CANCEL}:
            assert target in TERMINAL_STATUSES


def test_operation_id_format() -> None:
    op_id = new_operation_id(OperationType.TRAINING, datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC))
    assert re.fullmatch(r"op_training_20260102_030405_[0-9a-f]{8}", op_id)
