"""RayExecutor: run training and backtest jobs as Ray tasks on a local or remote Ray cluster."""

from __future__ import annotations

import contextlib
import logging
import threading
import time
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ktrdr.errors import InvalidTransitionError, KtrdrError, ValidationError
from ktrdr.execution.artifacts import write_artifacts
from ktrdr.execution.base import Executor, JobSpec
from ktrdr.execution.local import FORCE_STOP_REASON
from ktrdr.execution.outcome import UNEXPECTED_CANCEL, check_submittable, overdue_cancel
from ktrdr.execution.ray_task import NODE_KEY, RemoteOutcome, run_remote_job
from ktrdr.operations import FailureCode, OperationsService

logger = logging.getLogger(__name__)

POLL_SECONDS = 0.25  # between two looks at finished tasks and cancelled operations
NAMESPACE = "ktrdr"


@dataclass(eq=False)
class _RemoteJob:
    """One submitted Ray task and what the executor knows of it."""

    spec: JobSpec
    ref: Any  # ray.ObjectRef[RemoteOutcome]
    cancel_seen_at: float | None = None
    force_cancelled: bool = False


class RayExecutor:
    """Runs ``remote_jobs`` as Ray tasks, every other job on ``local`` (this machine).

    Each task asks Ray for the job's ``ResourceNeeds`` (CPUs, GPUs, memory, custom resources)
    plus ``job_resources`` (e.g. ``{"ktrdr_worker": 1}`` to keep jobs on tagged nodes). The
    request goes in through the object store; the job's files come back with its result and are
    written under ``home`` before the operation is completed. A job still running
    ``grace_seconds`` after its operation was cancelled gets ``ray.cancel(force=True)``; a task
    lost with its node fails its operation with a message naming the node.
    """

    def __init__(
        self,
        operations: OperationsService,
        *,
        address: str,
        home: Path,
        grace_seconds: float,
        local: Executor,
        remote_jobs: Collection[str],
        job_resources: Mapping[str, float] | None = None,
        env: Mapping[str, str] | None = None,
        init_options: Mapping[str, Any] | None = None,
    ) -> None:
        import ray

        if grace_seconds < 0:
            raise ValidationError(f"grace_seconds must be >= 0, got {grace_seconds}")
        self._ray = ray
        self._operations = operations
        self._address = address
        self._home = Path(home)
        self._grace_seconds = grace_seconds
        self._local = local
        self.events = local.events  # one hub: jobs on Ray and on the local pool alike
        self._remote_jobs = frozenset(remote_jobs)
        self._job_resources = dict(job_resources or {})
        self._jobs: dict[str, _RemoteJob] = {}
        self._lock = threading.Lock()
        self._stopped = threading.Event()
        self._closing = False
        self._connect(env or {}, init_options or {})
        self._task = ray.remote(run_remote_job)
        self._thread = threading.Thread(target=self._watch, name="ktrdr-ray", daemon=True)
        self._thread.start()

    def _connect(self, env: Mapping[str, str], init_options: Mapping[str, Any]) -> None:
        options: dict[str, Any] = {
            "namespace": NAMESPACE,
            "runtime_env": {"env_vars": dict(env)},
            "log_to_driver": False,
            "configure_logging": False,
        }
        if not self._address:
            options.update(include_dashboard=False, **init_options)
        try:
            context = self._ray.init(address=self._address or None, **options)
        except (ConnectionError, ValueError, RuntimeError) as exc:
            raise ValidationError(
                f"cannot reach the Ray cluster at KTRDR_RAY_ADDRESS={self._address!r}: {exc} "
                "(empty starts a local Ray; 'auto' or 'ray://host:10001' joins a running cluster)"
            ) from exc
        logger.info(
            "ray executor connected to %s (%d nodes, resources %s)",
            self._address or f"a local Ray ({context.address_info.get('address')})",
            len(self._alive_nodes()),
            self._ray.cluster_resources(),
        )

    def submit(self, spec: JobSpec) -> None:
        """Start a pending operation's job as a Ray task (or on the local pool, see above)."""
        if spec.job not in self._remote_jobs:
            self._local.submit(spec)
            return
        with self._lock:
            check_submittable(
                self._operations,
                spec,
                executor="ray",
                closing=self._closing,
                known=spec.operation_id in self._jobs,
            )
            ref = self._task.options(**self._task_options(spec)).remote(
                self._ray.put(spec), str(self._home)
            )
            self._jobs[spec.operation_id] = _RemoteJob(spec=spec, ref=ref)
        logger.info("operation %s: job %s sent to Ray", spec.operation_id, spec.job)

    def _task_options(self, spec: JobSpec) -> dict[str, Any]:
        needs = spec.resources
        options: dict[str, Any] = {
            "num_cpus": needs.cpus,
            "num_gpus": needs.gpus,
            "resources": {**self._job_resources, **needs.custom},
            "max_retries": 0,  # a job is not idempotent: its operation is already running
            "retry_exceptions": False,
            "name": f"{spec.job.rpartition(':')[2]}:{spec.operation_id}",
        }
        if needs.memory_mb is not None:
            options["memory"] = needs.memory_mb * 1024 * 1024
        return options

    def cancel(self, operation_id: str) -> None:
        """Cancel the operation in the store and force-stop its Ray task now."""
        with self._lock:
            job = self._jobs.get(operation_id)
        if job is None:
            self._local.cancel(operation_id)
            return
        with contextlib.suppress(InvalidTransitionError):
            self._operations.cancel(operation_id, FORCE_STOP_REASON)
        if self._operations.is_cancelled(operation_id):
            self._force_cancel(job, "cancel requested")

    def shares_disk(self, job: str) -> bool:
        """Only for jobs kept on this machine: a Ray node may not see this machine's disk."""
        return job not in self._remote_jobs

    def is_alive(self, operation_id: str) -> bool:
        """True while the job's task is queued or running in Ray (and not being force-stopped)."""
        with self._lock:
            job = self._jobs.get(operation_id)
        if job is None:
            return self._local.is_alive(operation_id)
        return not job.force_cancelled

    def running(self) -> list[str]:
        """The operation ids of the Ray tasks not finished yet, then the local pool's."""
        with self._lock:
            remote = [op_id for op_id, job in self._jobs.items() if not job.force_cancelled]
        return remote + self._local.running()

    def health(self) -> dict[str, Any]:
        """``{"kind": "ray", "address", "nodes", "resources", "available", "busy", "queued",
        "workers", "local": <local pool>}``; ``workers`` = the cluster's CPUs."""
        with self._lock:
            busy = len(self._jobs)
        resources = self._ray.cluster_resources()
        local = self._local.health()
        return {
            "kind": "ray",
            "address": self._address or "local",
            "nodes": self._alive_nodes(),
            "resources": resources,
            "available": self._ray.available_resources(),
            "workers": int(resources.get("CPU", 0)),
            "busy": busy + local.get("busy", 0),
            "queued": local.get("queued", 0),
            "local": local,
        }

    def shutdown(self, wait: bool = True) -> None:
        """Stop watching; ``wait`` lets the Ray tasks finish first, else they are cancelled."""
        with self._lock:
            if self._closing:
                return
            self._closing = True
        while wait and self._jobs:
            time.sleep(POLL_SECONDS)
        self._stopped.set()
        self._thread.join()
        if not wait:
            for job in list(self._jobs.values()):
                with contextlib.suppress(Exception):
                    self._ray.cancel(job.ref, force=True)
        self._local.shutdown(wait=wait)
        with contextlib.suppress(Exception):
            self._ray.shutdown()
        logger.info("ray executor shut down; %d jobs left unfinished", len(self._jobs))

    def _alive_nodes(self) -> list[dict[str, Any]]:
        return [
            {"node_id": node["NodeID"], "address": node["NodeManagerAddress"]}
            for node in self._ray.nodes()
            if node.get("Alive")
        ]

    def _watch(self) -> None:
        while not self._stopped.is_set():
            try:
                self._step()
            except Exception:
                logger.exception("ray executor: watch step failed; continuing")
                self._stopped.wait(POLL_SECONDS)

    def _step(self) -> None:
        with self._lock:
            jobs = list(self._jobs.values())
        if not jobs:
            self._stopped.wait(POLL_SECONDS)
            return
        refs = [job.ref for job in jobs]
        self._ray.wait(refs, num_returns=1, timeout=POLL_SECONDS, fetch_local=False)
        ready, _ = self._ray.wait(refs, num_returns=len(refs), timeout=0, fetch_local=False)
        done = set(ready)
        for job in jobs:
            if job.ref in done:
                self._finish(job)
            else:
                self._check_cancelled(job)

    def _check_cancelled(self, job: _RemoteJob) -> None:
        if job.force_cancelled:
            return
        now = time.monotonic()
        operation_id = job.spec.operation_id
        if job.cancel_seen_at is None:
            try:
                cancelled = self._operations.is_cancelled(operation_id)
            except KtrdrError as exc:
                logger.warning("operation %s: status not read: %s", operation_id, exc)
                return
            if not cancelled:
                return
            job.cancel_seen_at = now
            logger.info("operation %s: cancelled; job has %.1fs", operation_id, self._grace_seconds)
        reason = overdue_cancel(job.cancel_seen_at, now, self._grace_seconds)
        if reason:
            self._force_cancel(job, reason)

    def _force_cancel(self, job: _RemoteJob, reason: str) -> None:
        if job.force_cancelled:
            return
        logger.warning("operation %s: ray.cancel(force=True): %s", job.spec.operation_id, reason)
        job.force_cancelled = True
        with contextlib.suppress(Exception):  # the task may have ended meanwhile
            self._ray.cancel(job.ref, force=True)

    def _finish(self, job: _RemoteJob) -> None:
        operation_id = job.spec.operation_id
        try:
            outcome: RemoteOutcome = self._ray.get(job.ref)
        except Exception as exc:
            self._on_task_error(job, exc)
        else:
            self._record(operation_id, outcome)
        finally:
            with self._lock:
                self._jobs.pop(operation_id, None)
            self.events.job_ended(operation_id)

    def _record(self, operation_id: str, outcome: RemoteOutcome) -> None:
        if outcome.status == "completed":
            self._complete(operation_id, outcome)
        elif outcome.status == "failed":
            self._fail(operation_id, outcome.message or "job failed")
        elif outcome.status == "cancelled" and not self._operations.is_cancelled(operation_id):
            self._fail(operation_id, UNEXPECTED_CANCEL)
        else:
            logger.info("operation %s: job %s on %s", operation_id, outcome.status, outcome.address)

    def _complete(self, operation_id: str, outcome: RemoteOutcome) -> None:
        if self._operations.is_cancelled(operation_id):
            logger.info("operation %s: cancelled; its result and files are dropped", operation_id)
            return
        try:
            write_artifacts(self._home, outcome.files)
        except (OSError, KtrdrError) as exc:
            self._fail(operation_id, f"job files could not be written under {self._home}: {exc}")
            return
        try:
            self._operations.complete(operation_id, outcome.result)
        except InvalidTransitionError as exc:
            logger.info("operation %s: completion not recorded: %s", operation_id, exc)
            return
        logger.info(
            "operation %s: completed on %s (%d files)",
            operation_id,
            outcome.address,
            len(outcome.files),
        )

    def _on_task_error(self, job: _RemoteJob, exc: Exception) -> None:
        operation_id = job.spec.operation_id
        if job.force_cancelled or isinstance(exc, self._ray.exceptions.TaskCancelledError):
            logger.info("operation %s: Ray task stopped (%s)", operation_id, type(exc).__name__)
            if not self._operations.is_cancelled(operation_id):
                self._fail(operation_id, "the Ray task was cancelled outside ktrdr")
            return
        if isinstance(exc, self._ray.exceptions.RayTaskError):
            self._fail(operation_id, f"the Ray task failed outside the job: {exc}")
            return
        self._fail(
            operation_id, self._loss_message(operation_id, exc), code=FailureCode.WORKER_LOST
        )

    def _loss_message(self, operation_id: str, exc: Exception) -> str:
        """E.g. "lost with Ray node 5f3a… (10.0.0.7): the node died while running the job"."""
        try:
            where = self._operations.get(operation_id).metadata.parameters.get(NODE_KEY)
        except KtrdrError:
            where = None
        if not where:
            first_line = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
            return (
                "lost: the Ray task died before it reported its node "
                f"({type(exc).__name__}: {first_line})"
            )
        node = f"Ray node {where['node_id']} ({where['address']})"
        died = isinstance(exc, self._ray.exceptions.NodeDiedError)
        if died or where["node_id"] not in {n["node_id"] for n in self._alive_nodes()}:
            return f"lost with {node}: the node died while running the job ({type(exc).__name__})"
        return (
            f"lost on {node}: its worker process died while running the job ({type(exc).__name__})"
        )

    def _fail(self, operation_id: str, message: str, *, code: FailureCode | None = None) -> None:
        logger.error("operation %s: %s", operation_id, message)
        try:
            self._operations.fail(operation_id, message, code=code)
        except InvalidTransitionError:
            logger.info("operation %s: already ended; failure not recorded", operation_id)
