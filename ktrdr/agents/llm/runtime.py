"""Build an LLM session inside a job: provider, ledger, cache, progress, cancellation."""

from __future__ import annotations

import contextlib
from collections.abc import Awaitable, Callable
from typing import TypeVar

from ktrdr.agents.llm.budget import BudgetLedger
from ktrdr.agents.llm.cache import ResponseCache
from ktrdr.agents.llm.models import create_provider
from ktrdr.agents.llm.session import (
    CallContext,
    LLMCallCancelled,
    LLMSession,
    Usage,
    run_until_cancelled,
)
from ktrdr.errors import KtrdrError
from ktrdr.execution import JobCancelled, JobReporter
from ktrdr.operations import OperationsService
from ktrdr.settings import Settings

T = TypeVar("T")


def job_session(
    provider: str,
    settings: Settings,
    operations: OperationsService,
    reporter: JobReporter,
    purpose: str,
) -> LLMSession:
    """A session that bills the job's operation (and its research) and reports usage as progress."""
    operation = operations.get(reporter.operation_id)
    engine = operations.store.engine

    def report(usage: Usage) -> None:
        # Progress is best-effort here: cancellation is noticed by run_job_calls' watcher.
        with contextlib.suppress(KtrdrError, JobCancelled):
            reporter.progress(
                current_step=f"{purpose}: {usage.calls} LLM call(s), ${usage.cost_usd:.4f}",
                context=usage.summary(),
            )

    return LLMSession(
        create_provider(settings, provider),
        settings,
        CallContext(reporter.operation_id, operation.parent_operation_id, purpose),
        ledger=BudgetLedger(engine, settings),
        cache=ResponseCache(engine) if settings.llm_cache else None,
        on_usage=report,
    )


def run_job_calls(
    session: LLMSession, work: Callable[[], Awaitable[T]], reporter: JobReporter
) -> T:
    """Run ``work()`` and close the session; ``JobCancelled`` at once if the op is cancelled."""

    async def guarded() -> T:
        try:
            return await work()
        finally:
            await session.aclose()

    try:
        return run_until_cancelled(guarded, reporter.cancelled)
    except LLMCallCancelled:
        raise JobCancelled(reporter.operation_id) from None
