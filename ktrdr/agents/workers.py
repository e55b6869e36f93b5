"""Start design and assessment child operations as executor jobs."""

from __future__ import annotations

from typing import Any

from ktrdr.execution import Executor, JobSpec, ResourceNeeds
from ktrdr.operations import OperationsService, OperationType

DESIGN_JOB = "ktrdr.agents.design.job:run_design_job"
ASSESSMENT_JOB = "ktrdr.agents.assessment.job:run_assessment_job"


class _JobStarter:
    """Starts a child operation as an executor job (a ``ChildStarter`` of the research cycle)."""

    operation_type: OperationType
    job: str

    def __init__(self, operations: OperationsService, executor: Executor) -> None:
        self.operations = operations
        self.executor = executor

    def start(self, parent_operation_id: str, request: dict[str, Any]) -> str:
        """Create the child operation, submit its job, return the operation id."""
        operation = self.operations.create(
            self.operation_type,
            parent_operation_id=parent_operation_id,
            metadata={"parameters": {k: v for k, v in request.items() if _small(v)}},
        )
        self.executor.submit(
            JobSpec(
                operation_id=operation.operation_id,
                job=self.job,
                request=request,
                resources=ResourceNeeds(cpus=1.0),
            )
        )
        return operation.operation_id


class DesignWorker(_JobStarter):
    """Runs a designer as an ``agent_design`` job."""

    operation_type = OperationType.AGENT_DESIGN
    job = DESIGN_JOB


class AssessmentWorker(_JobStarter):
    """Runs an assessor as an ``agent_assessment`` job."""

    operation_type = OperationType.AGENT_ASSESSMENT
    job = ASSESSMENT_JOB


def _small(value: Any) -> bool:
    # Keep bulky inputs (results, strategies) out of the child's metadata: they live in the parent.
    return not isinstance(value, dict | list)
