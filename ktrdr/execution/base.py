"""The executor interface: submit a job with resource needs, force-cancel it, ask if it lives."""

from __future__ import annotations

import math
import pickle
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

from ktrdr.errors import ValidationError
from ktrdr.execution.events import JobEvents


@dataclass(frozen=True, kw_only=True)
class ResourceNeeds:
    """What one job asks of the machine running it, e.g. ``ResourceNeeds(cpus=2, gpus=0.5)``.

    ``memory_mb=None`` means no reservation; ``custom`` names extra resources (Ray custom
    resources such as ``{"large_ram_node": 1}``). The local pool runs one job per worker whatever
    is asked; a distributed executor schedules by these numbers.
    """

    cpus: float = 1.0
    gpus: float = 0.0
    memory_mb: int | None = None
    custom: Mapping[str, float] = field(default_factory=dict)

    def __post_init__(self) -> None:
        for name in ("cpus", "gpus"):
            _check_amount(name, getattr(self, name))
        if self.memory_mb is not None and (
            isinstance(self.memory_mb, bool) or not isinstance(self.memory_mb, int)
        ):
            raise ValidationError(
                f"memory_mb must be a whole number of MiB, got {self.memory_mb!r}"
            )
        if self.memory_mb is not None and self.memory_mb <= 0:
            raise ValidationError(f"memory_mb must be > 0 when given, got {self.memory_mb}")
        for name, amount in self.custom.items():
            _check_amount(f"custom[{name!r}]", amount)
        object.__setattr__(self, "custom", dict(self.custom))


def _check_amount(name: str, value: object) -> None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValidationError(f"{name} must be a number >= 0, got {value!r}")
    if not math.isfinite(value) or value < 0:
        raise ValidationError(f"{name} must be a finite number >= 0, got {value!r}")


@dataclass(frozen=True, kw_only=True)
class JobSpec:
    """One job: ``job`` is ``"package.module:function"``, called as ``job(operation_id, request)``.

    The function returns the operation's ``result_summary`` (a dict); ``request`` must pickle,
    because it crosses a process (or machine) boundary.
    """

    operation_id: str
    job: str
    request: dict[str, Any] = field(default_factory=dict)
    resources: ResourceNeeds = field(default_factory=ResourceNeeds)

    def __post_init__(self) -> None:
        if not self.operation_id:
            raise ValidationError("operation_id must not be empty")
        module, sep, function = self.job.partition(":")
        if not sep or not module or not function.isidentifier():
            raise ValidationError(
                f"job {self.job!r} must be a dotted path 'package.module:function', "
                "e.g. 'ktrdr.training.job:run_training_job'"
            )
        if not isinstance(self.request, dict):
            raise ValidationError(f"request must be a dict, got {type(self.request).__name__}")
        try:
            pickle.dumps(self.request)
        except Exception as exc:
            raise ValidationError(
                f"request of operation {self.operation_id} cannot be sent to a worker "
                f"(it must pickle): {exc}"
            ) from exc


@runtime_checkable
class Executor(Protocol):
    """Runs jobs somewhere (local processes, a Ray cluster); the store holds their outcome.

    ``events`` tells in-process listeners (the research loops) as soon as a job has ended.
    """

    events: JobEvents

    def submit(self, spec: JobSpec) -> None:
        """Queue ``spec``; a worker marks the operation running when it starts it."""

    def cancel(self, operation_id: str) -> None:
        """Force-stop the job now (or drop it from the queue); its operation ends cancelled."""

    def shares_disk(self, job: str) -> bool:
        """True when ``job`` runs where this process's files (KTRDR_HOME) can be read."""

    def is_alive(self, operation_id: str) -> bool:
        """True while the job is queued or running on a live worker."""

    def running(self) -> list[str]:
        """The operation ids of the jobs running now."""

    def health(self) -> dict[str, Any]:
        """``{"kind", "workers", "busy", "queued", ...}`` for the health endpoint."""

    def shutdown(self, wait: bool = True) -> None:
        """Stop the workers; ``wait`` lets running jobs finish first."""
