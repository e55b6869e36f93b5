"""Several processes writing progress to one store at once: no lock errors, no lost update."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from ktrdr.operations import OperationsService, OperationStatus

PROCESSES = 4
UPDATES = 500

WRITER = textwrap.dedent(
    """
    import sys
    from ktrdr.operations import OperationsService, OperationsStore

    url, shared_op, own_op, name, updates = sys.argv[1:6]
    service = OperationsService(OperationsStore.from_url(url), progress_min_interval=0.0)
    for i in range(int(updates)):
        service.update_progress(shared_op, context={name: i}, force=True)
        service.update_progress(own_op, items_done=i + 1, force=True)
    """
)


@pytest.mark.slow
def test_four_processes_update_progress_without_lock_errors_or_lost_updates(
    operations: OperationsService, database_url: str
) -> None:
    shared = operations.create("agent_research").operation_id
    operations.start(shared)
    own = []
    for _ in range(PROCESSES):
        op_id = operations.create("training", parent_operation_id=shared).operation_id
        operations.start(op_id)
        own.append(op_id)

    root = Path(__file__).resolve().parents[3]
    writers = [
        subprocess.Popen(
            [sys.executable, "-c", WRITER, database_url, shared, own[i], f"w{i}", str(UPDATES)],
            cwd=root,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for i in range(PROCESSES)
    ]
    outcomes = [(w.wait(timeout=240), w.stderr.read() if w.stderr else "") for w in writers]

    for code, stderr in outcomes:
        assert code == 0, stderr
        assert "database is locked" not in stderr
    context = operations.get(shared).progress.context
    assert context == {f"w{i}": UPDATES - 1 for i in range(PROCESSES)}
    for op_id in own:
        op = operations.get(op_id)
        assert op.status is OperationStatus.RUNNING
        assert op.progress.items_done == UPDATES
