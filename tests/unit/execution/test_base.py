"""ResourceNeeds, JobSpec, create_executor, and the curated public names."""

from __future__ import annotations

import inspect
import re
from pathlib import Path

import pytest

import ktrdr.execution as execution
from ktrdr.errors import ValidationError
from ktrdr.execution import Executor, JobSpec, LocalExecutor, ResourceNeeds, create_executor
from ktrdr.execution.local import describe_exit
from ktrdr.execution.outcome import overdue_cancel
from ktrdr.settings import Settings


def test_resource_needs_default_to_one_cpu() -> None:
    needs = ResourceNeeds()

    assert (needs.cpus, needs.gpus, needs.memory_mb, dict(needs.custom)) == (1.0, 0.0, None, {})


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"cpus": -1}, "cpus must be a finite number >= 0, got -1"),
        ({"gpus": float("nan")}, "gpus must be a finite number >= 0"),
        ({"gpus": "1"}, "gpus must be a number >= 0, got '1'"),
        ({"memory_mb": 0}, "memory_mb must be > 0 when given, got 0"),
        ({"memory_mb": 1.5}, "memory_mb must be a whole number of MiB, got 1.5"),
        ({"custom": {"large_ram_node": -2}}, "custom['large_ram_node'] must be a finite number"),
    ],
)
def test_resource_needs_reject_bad_amounts(fields: dict, message: str) -> None:
    with pytest.raises(ValidationError, match=re.escape(message)):
        ResourceNeeds(**fields)


def test_resource_needs_keep_their_own_copy_of_custom() -> None:
    custom = {"large_ram_node": 1.0}
    needs = ResourceNeeds(custom=custom)
    custom["large_ram_node"] = 5.0

    assert needs.custom == {"large_ram_node": 1.0}


@pytest.mark.parametrize("job", ["ktrdr.training.jobs", "ktrdr.training.jobs:", ":train", "a:b.c"])
def test_job_spec_rejects_a_job_that_is_not_module_colon_function(job: str) -> None:
    with pytest.raises(
        ValidationError, match=re.escape("must be a dotted path 'package.module:function'")
    ):
        JobSpec(operation_id="op_training_x", job=job)


def test_job_spec_rejects_a_request_that_cannot_reach_a_worker() -> None:
    with pytest.raises(ValidationError, match="cannot be sent to a worker"):
        JobSpec(operation_id="op_training_x", job="jobs:train", request={"f": lambda: 1})


@pytest.mark.parametrize("address", ["auto", "ray://head:10001", "10.0.0.5:6379"])
def test_create_executor_refuses_a_ray_cluster_with_a_sqlite_store(
    tmp_path: Path, operations, address: str
) -> None:
    settings = Settings(home=tmp_path, executor="ray", ray_address=address)
    with pytest.raises(ValidationError, match="needs a store every node can reach") as raised:
        create_executor(settings, operations)
    assert "KTRDR_DATABASE_URL=postgresql" in raised.value.message
    assert address in raised.value.message


def test_create_executor_builds_a_local_pool_from_the_settings(tmp_path: Path, operations) -> None:
    executor = create_executor(Settings(home=tmp_path, workers=1), operations)
    try:
        assert isinstance(executor, LocalExecutor)
        assert isinstance(executor, Executor)
        assert executor.health()["kind"] == "local"
        assert executor.health()["workers"] == 1
    finally:
        executor.shutdown(wait=False)


@pytest.mark.parametrize(
    ("exitcode", "cause"),
    [
        (-9, "died (killed by signal SIGKILL) while running the job — out of memory or killed"),
        (-15, "died (killed by signal SIGTERM)"),
        (1, "died (exit code 1) while running the job"),
    ],
)
def test_describe_exit_names_the_cause(exitcode: int, cause: str) -> None:
    assert describe_exit(12345, exitcode).startswith(f"worker process 12345 {cause}")


def test_all_lists_exactly_the_public_names() -> None:
    public = {
        name
        for name, value in vars(execution).items()
        if not name.startswith("_") and not inspect.ismodule(value) and name != "annotations"
    }

    assert set(execution.__all__) == public


def test_a_cancelled_job_is_overdue_only_after_its_grace() -> None:
    assert overdue_cancel(None, now=100.0, grace_seconds=5) is None
    assert overdue_cancel(96.0, now=100.0, grace_seconds=5) is None
    assert overdue_cancel(95.0, now=100.0, grace_seconds=5) == (
        "still running 5.0s after cancellation"
    )
