"""OperationsService on the real store, SQLite and PostgreSQL."""

from __future__ import annotations

import pytest

from ktrdr.errors import InvalidTransitionError, NotFoundError, ValidationError
from ktrdr.operations import FailureCode, OperationsService, OperationsStore, OperationStatus


def _running(operations: OperationsService, kind: str, parent: str | None = None) -> str:
    op = operations.create(kind, parent_operation_id=parent)
    operations.start(op.operation_id)
    return op.operation_id


def test_life_cycle_round_trip(operations: OperationsService) -> None:
    op = operations.create("training", metadata={"symbol": "EURUSD", "timeframe": "1h"})
    assert op.status is OperationStatus.PENDING
    started = operations.start(op.operation_id)
    assert started.status is OperationStatus.RUNNING and started.started_at is not None
    operations.update_progress(op.operation_id, percentage=50, current_step="epoch 5/10")
    operations.update_progress(op.operation_id, context={"epoch": 5})
    mid = operations.get(op.operation_id)
    assert mid.progress.percentage == 50 and mid.progress.current_step == "epoch 5/10"
    assert mid.progress.context == {"epoch": 5}
    done = operations.complete(op.operation_id, {"test_accuracy": 0.61})
    fetched = operations.get(op.operation_id)
    assert fetched == done
    assert fetched.status is OperationStatus.COMPLETED
    assert fetched.result_summary == {"test_accuracy": 0.61}
    assert fetched.progress.percentage == 100
    assert fetched.metadata.symbol == "EURUSD"
    assert fetched.duration_seconds is not None and fetched.duration_seconds >= 0


def test_cancel_cascades_to_every_active_descendant(operations: OperationsService) -> None:
    parent = _running(operations, "agent_research")
    child = _running(operations, "training", parent)
    grandchild = _running(operations, "backtesting", child)
    finished = _running(operations, "agent_design", parent)
    operations.complete(finished)

    cancelled = operations.cancel(parent)

    assert set(cancelled) == {parent, child, grandchild}
    for op_id in (parent, child, grandchild):
        assert operations.get(op_id).status is OperationStatus.CANCELLED
        assert operations.is_cancelled(op_id)
    assert operations.get(finished).status is OperationStatus.COMPLETED
    assert "cancelled" in (operations.get(grandchild).error_message or "")


def test_failure_code_is_stored_with_the_message(operations: OperationsService) -> None:
    lost = _running(operations, "training")
    broken = _running(operations, "training")

    operations.fail(lost, "lost: server restarted", code=FailureCode.ORPHANED)
    operations.fail(broken, "no bars after the training range")

    stored = operations.get(lost)
    assert stored.status is OperationStatus.FAILED
    assert (stored.error_code, stored.error_message) == ("orphaned", "lost: server restarted")
    assert stored.model_dump(mode="json")["error_code"] == "orphaned"
    assert operations.get(broken).error_code is None
    assert operations.get(broken).error_message == "no bars after the training range"


def test_late_complete_of_cancelled_operation_is_refused(operations: OperationsService) -> None:
    op_id = _running(operations, "training")
    operations.cancel(op_id)
    with pytest.raises(InvalidTransitionError, match="CANCELLED -> COMPLETE"):
        operations.complete(op_id, {"late": True})
    after = operations.get(op_id)
    assert after.status is OperationStatus.CANCELLED and after.result_summary is None


@pytest.mark.parametrize("action", ["start", "complete", "fail", "cancel", "progress"])
def test_terminal_operations_refuse_every_change(
    operations: OperationsService, action: str
) -> None:
    op_id = _running(operations, "training")
    operations.complete(op_id, {"done": 1})
    calls = {
        "start": lambda: operations.start(op_id),
        "complete": lambda: operations.complete(op_id, {}),
        "fail": lambda: operations.fail(op_id, "boom"),
        "cancel": lambda: operations.cancel(op_id),
        "progress": lambda: operations.update_progress(op_id, percentage=3, force=True),
    }
    with pytest.raises(InvalidTransitionError):
        calls[action]()
    assert operations.get(op_id).result_summary == {"done": 1}


def test_pending_cannot_complete(operations: OperationsService) -> None:
    op = operations.create("training")
    with pytest.raises(InvalidTransitionError, match="PENDING -> COMPLETE"):
        operations.complete(op.operation_id, {})


def test_list_filters_pagination_and_order(operations: OperationsService) -> None:
    ids = [operations.create("training").operation_id for _ in range(5)]
    backtest = _running(operations, "backtesting")
    operations.start(ids[0])
    operations.fail(ids[0], "boom")

    page = operations.list(operation_type="training", limit=2)
    assert page.total_count == 5
    assert [o.operation_id for o in page.items] == ids[::-1][:2]
    second = operations.list(operation_type="training", limit=2, offset=2)
    assert [o.operation_id for o in second.items] == ids[::-1][2:4]
    assert operations.list(status="failed").total_count == 1
    active = operations.list(active_only=True)
    assert {o.operation_id for o in active.items} == {*ids[1:], backtest}
    assert operations.list(active_only=True, status="failed").total_count == 0
    assert operations.list().items[0].operation_id == backtest


def test_children_and_parent_filter(operations: OperationsService) -> None:
    parent = operations.create("agent_research").operation_id
    kids = [
        operations.create("training", parent_operation_id=parent).operation_id for _ in range(2)
    ]
    assert {o.operation_id for o in operations.children(parent)} == set(kids)
    assert operations.list(parent=parent).total_count == 2


def test_bad_input_names_the_input(operations: OperationsService) -> None:
    with pytest.raises(NotFoundError, match="nope"):
        operations.get("nope")
    with pytest.raises(ValidationError, match="unknown operation type 'bogus'"):
        operations.list(operation_type="bogus")
    with pytest.raises(ValidationError, match="unknown status 'weird'"):
        operations.list(status="weird")
    with pytest.raises(ValidationError, match="limit"):
        operations.list(limit=1001)
    with pytest.raises(NotFoundError, match="missing-parent"):
        operations.create("training", parent_operation_id="missing-parent")


def test_update_parameters_merges_and_persists(operations: OperationsService) -> None:
    op_id = _running(operations, "agent_research")
    operations.update_parameters(op_id, {"phase": "designing", "design_op_id": "x"})
    operations.update_parameters(op_id, {"phase": "training"})
    params = operations.get(op_id).metadata.parameters
    assert params == {"phase": "training", "design_op_id": "x"}


def test_progress_is_throttled_per_operation(store: OperationsStore) -> None:
    throttled = OperationsService(store, progress_min_interval=60.0)
    op = throttled.create("training")
    throttled.start(op.operation_id)
    assert throttled.update_progress(op.operation_id, percentage=10) is True
    assert throttled.update_progress(op.operation_id, percentage=20) is False
    assert throttled.get(op.operation_id).progress.percentage == 10
    assert throttled.update_progress(op.operation_id, percentage=30, force=True) is True
    assert throttled.get(op.operation_id).progress.percentage == 30
