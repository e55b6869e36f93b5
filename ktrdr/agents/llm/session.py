"""One job's LLM calls: retries, the replay cache, token and cost accounting, cancellation."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, TypeVar

from ktrdr.agents.llm._retry import call_with_retries
from ktrdr.agents.llm._types import LLMRequest, LLMResponse
from ktrdr.agents.llm.cache import ResponseCache, request_key
from ktrdr.agents.llm.models import LLMProvider, call_cost
from ktrdr.settings import Settings

if TYPE_CHECKING:
    from ktrdr.agents.llm.budget import BudgetLedger

logger = logging.getLogger(__name__)

T = TypeVar("T")

CANCEL_POLL_SECONDS = 0.1


class LLMCallCancelled(Exception):
    """The operation was cancelled while an LLM call was in flight; the call was interrupted."""


@dataclass
class Usage:
    """Tokens and USD spent so far, e.g. 12 000 in + 1 500 out on Sonnet = $0.0585."""

    input_tokens: int = 0
    output_tokens: int = 0
    cost_usd: float = 0.0
    calls: int = 0
    cache_hits: int = 0

    def summary(self) -> dict[str, object]:
        """The result_summary keys ``tokens`` and ``cost_usd``."""
        return {
            "tokens": {"input": self.input_tokens, "output": self.output_tokens},
            "cost_usd": round(self.cost_usd, 6),
        }


@dataclass(frozen=True)
class CallContext:
    """Who pays: the child operation, its research, and what the call is for."""

    operation_id: str
    research_id: str | None
    purpose: str


class LLMSession:
    """Calls one provider with retries; caches (optionally) and accounts every paid call.

    Each paid call is written to the budget ledger at once, so a cycle that fails later still
    counts. A cache hit costs nothing and sends no HTTP request.
    """

    def __init__(
        self,
        provider: LLMProvider,
        settings: Settings,
        context: CallContext,
        *,
        ledger: BudgetLedger | None = None,
        cache: ResponseCache | None = None,
        on_usage: Callable[[Usage], None] | None = None,
    ) -> None:
        self.provider = provider
        self.settings = settings
        self.context = context
        self.ledger = ledger
        self.cache = cache
        self.on_usage = on_usage
        self.usage = Usage()

    async def complete(self, request: LLMRequest) -> LLMResponse:
        """The model's answer to ``request``: from the cache, or from the provider (retried)."""
        key = request_key(self.provider.name, request) if self.cache else None
        if self.cache and key:
            hit = self.cache.get(key)
            if hit is not None:
                self.usage.cache_hits += 1
                logger.info("operation %s: LLM cache hit", self.context.operation_id)
                return hit
        response = await call_with_retries(
            lambda: self.provider.complete(request),
            max_retries=self.settings.llm_max_retries,
            label=f"{self.provider.name} {request.model}",
        )
        self._account(request.model, response)
        if self.cache and key:
            self.cache.put(key, self.provider.name, response)
        return response

    async def aclose(self) -> None:
        """Close the provider's connections."""
        await self.provider.aclose()

    def _account(self, model: str, response: LLMResponse) -> None:
        cost = call_cost(self.settings, model, response.input_tokens, response.output_tokens)
        self.usage.input_tokens += response.input_tokens
        self.usage.output_tokens += response.output_tokens
        self.usage.cost_usd += cost
        self.usage.calls += 1
        if self.ledger is not None:
            self.ledger.record(
                operation_id=self.context.operation_id,
                research_id=self.context.research_id,
                purpose=self.context.purpose,
                provider=self.provider.name,
                model=model,
                input_tokens=response.input_tokens,
                output_tokens=response.output_tokens,
                cost_usd=cost,
            )
        if self.on_usage is not None:
            self.on_usage(self.usage)


def run_until_cancelled(work: Callable[[], Awaitable[T]], cancelled: Callable[[], bool]) -> T:
    """Run ``work()`` in an event loop; interrupt it once ``cancelled()`` turns True.

    ``cancelled`` is polled every 0.1 s; cancelling the task aborts the in-flight HTTP request
    (the SDKs' async clients close the connection), then ``LLMCallCancelled`` is raised.
    """

    async def main() -> T:
        task = asyncio.ensure_future(work())
        while True:
            done, _ = await asyncio.wait({task}, timeout=CANCEL_POLL_SECONDS)
            if done:
                return task.result()
            if cancelled():
                task.cancel()
                await asyncio.gather(task, return_exceptions=True)
                raise LLMCallCancelled("cancelled during an LLM call")

    return asyncio.run(main())
