"""The Ray task: run one job on a cluster node, hand its result and files back to the server.

The task marks the operation running and records its node in the operation's parameters
(``ray_node``), so a node lost mid-job can be named. It records nothing else: the server-side
``RayExecutor`` writes the files under its KTRDR_HOME first, then completes (or fails) the
operation, so nobody ever sees a completed operation whose files are missing.
"""

from __future__ import annotations

import logging
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ktrdr.errors import InvalidTransitionError, NotFoundError, TransientError
from ktrdr.execution.artifacts import ArtifactSink, using_sink
from ktrdr.execution.base import JobSpec
from ktrdr.execution.outcome import run_to_outcome
from ktrdr.execution.reporter import worker_operations
from ktrdr.settings import get_settings

logger = logging.getLogger(__name__)

NODE_KEY = "ray_node"  # metadata.parameters key: {"node_id", "address"} of the node running it


@dataclass(frozen=True)
class RemoteOutcome:
    """What a Ray task hands back: ``status`` completed, failed, cancelled or skipped."""

    status: str
    node_id: str
    address: str
    result: dict[str, Any] | None = None
    files: dict[str, bytes] = field(default_factory=dict)
    message: str | None = None


def run_remote_job(spec: JobSpec, published_home: str) -> RemoteOutcome:
    """Run ``spec`` in this Ray worker; its files are collected for ``published_home``."""
    import ray

    _configure_logging()
    node_id = ray.get_runtime_context().get_node_id()
    address = ray.util.get_node_ip_address()
    operations = worker_operations()
    operation_id = spec.operation_id
    try:
        operations.start(operation_id)
    except (InvalidTransitionError, NotFoundError) as exc:
        logger.info("operation %s: not started: %s", operation_id, exc)
        return RemoteOutcome("skipped", node_id, address, message=str(exc))
    try:
        operations.update_parameters(operation_id, {NODE_KEY: _node(node_id, address)})
    except (InvalidTransitionError, TransientError) as exc:
        logger.warning("operation %s: node not recorded: %s", operation_id, exc)
    logger.info("operation %s: job %s started on node %s", operation_id, spec.job, address)
    with tempfile.TemporaryDirectory(prefix="ktrdr-job-") as scratch:
        sink = ArtifactSink(Path(scratch), published_root=Path(published_home))
        with using_sink(sink):
            return _run(spec, sink, node_id, address)


def _run(spec: JobSpec, sink: ArtifactSink, node_id: str, address: str) -> RemoteOutcome:
    outcome = run_to_outcome(spec, "ray", node_id)
    files = sink.collect() if outcome.status == "completed" else {}
    return RemoteOutcome(
        outcome.status,
        node_id,
        address,
        result=outcome.result,
        files=files,
        message=outcome.message,
    )


def _node(node_id: str, address: str) -> dict[str, str]:
    return {"node_id": node_id, "address": address}


def _configure_logging() -> None:
    root = logging.getLogger()
    if not root.handlers:
        logging.basicConfig(
            level=get_settings().log_level.upper(),
            format="%(asctime)s %(levelname)s [ray task %(process)d] %(name)s: %(message)s",
        )
