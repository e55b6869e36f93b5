"""Build the executor the settings name: the local pool, or Ray with a local pool beside it."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ktrdr.errors import ValidationError
from ktrdr.execution.base import Executor
from ktrdr.execution.local import LocalExecutor

if TYPE_CHECKING:
    from ktrdr.operations import OperationsService
    from ktrdr.settings import Settings


REMOTE_JOBS = (
    "ktrdr.training.job:run_training_job",
    "ktrdr.backtesting.job:run_backtest_job",
)  # jobs that need no disk of their own: they run on Ray; designers and assessors stay local


def check_store_for_executor(settings: Settings) -> None:
    """Refuse SQLite with a Ray cluster: nodes on other machines cannot reach its file."""
    url = settings.resolved_database_url
    if settings.executor == "ray" and settings.ray_address and url.startswith("sqlite"):
        raise ValidationError(
            f"KTRDR_EXECUTOR=ray with KTRDR_RAY_ADDRESS={settings.ray_address!r} needs a store "
            f"every node can reach, but KTRDR_DATABASE_URL is SQLite ({url}); set "
            "KTRDR_DATABASE_URL=postgresql+psycopg://user:password@host:5432/ktrdr "
            "(or leave KTRDR_RAY_ADDRESS empty for a local Ray on this machine)"
        )


def create_executor(settings: Settings, operations: OperationsService) -> Executor:
    """The executor ``settings.executor`` names, with its workers started (or cluster joined)."""
    check_store_for_executor(settings)
    local = LocalExecutor(
        operations,
        workers=settings.workers,
        database_url=settings.resolved_database_url,
        home=settings.home,
        grace_seconds=settings.cancel_grace_seconds,
    )
    if settings.executor == "local":
        return local
    from ktrdr.execution.ray_executor import RayExecutor

    init_options = {
        "num_cpus": settings.ray_num_cpus,
        "object_store_memory": settings.ray_object_store_mb * 1024 * 1024
        if settings.ray_object_store_mb
        else None,
    }
    try:
        return RayExecutor(
            operations,
            address=settings.ray_address,
            home=settings.home,
            grace_seconds=settings.cancel_grace_seconds,
            local=local,
            remote_jobs=REMOTE_JOBS,
            job_resources=settings.ray_job_resources,
            env=_task_env(settings),
            init_options={k: v for k, v in init_options.items() if v is not None},
        )
    except BaseException:
        local.shutdown(wait=False)
        raise


def _task_env(settings: Settings) -> dict[str, str]:
    """The settings a Ray task needs, as KTRDR_* variables of its runtime environment."""
    return {
        "KTRDR_DATABASE_URL": settings.resolved_database_url,
        "KTRDR_LOG_LEVEL": settings.log_level,
        "KTRDR_PROGRESS_MIN_INTERVAL": str(settings.progress_min_interval),
        "KTRDR_TRAINING_DEVICE": settings.training_device,
    }
