"""LLM providers behind one small interface: Anthropic (Messages API) and OpenAI (chat completions).

A job builds an :class:`LLMSession` (retries, replay cache, token/cost accounting into the budget
ledger) and drives it with :func:`run_tool_loop`; :func:`run_until_cancelled` interrupts an
in-flight call when the operation is cancelled. Provider SDKs are imported only when used.
"""

from __future__ import annotations

from ktrdr.agents.llm._retry import LLMProviderError, RetryableLLMError, call_with_retries
from ktrdr.agents.llm._types import (
    LLMRequest,
    LLMResponse,
    Message,
    ToolCall,
    ToolResult,
    ToolSpec,
)
from ktrdr.agents.llm.blinding import PromptGuard
from ktrdr.agents.llm.budget import BudgetLedger
from ktrdr.agents.llm.cache import ResponseCache, request_key
from ktrdr.agents.llm.models import (
    API_KEY_ENV,
    PROVIDERS,
    LLMProvider,
    call_cost,
    create_provider,
    cycle_models,
    require_api_key,
    resolve_model,
)
from ktrdr.agents.llm.prompts import (
    STRATEGY_FORMAT,
    experiments_summary,
    indicator_catalogue,
    strategy_tool_schema,
)
from ktrdr.agents.llm.session import (
    CallContext,
    LLMCallCancelled,
    LLMSession,
    Usage,
    run_until_cancelled,
)
from ktrdr.agents.llm.tool_loop import ToolInputError, ToolLoopExhausted, run_tool_loop

__all__ = [
    "API_KEY_ENV",
    "PROVIDERS",
    "STRATEGY_FORMAT",
    "BudgetLedger",
    "CallContext",
    "LLMCallCancelled",
    "LLMProvider",
    "LLMProviderError",
    "LLMRequest",
    "LLMResponse",
    "LLMSession",
    "Message",
    "PromptGuard",
    "ResponseCache",
    "RetryableLLMError",
    "ToolCall",
    "ToolInputError",
    "ToolLoopExhausted",
    "ToolResult",
    "ToolSpec",
    "Usage",
    "call_cost",
    "call_with_retries",
    "create_provider",
    "cycle_models",
    "experiments_summary",
    "indicator_catalogue",
    "request_key",
    "require_api_key",
    "resolve_model",
    "run_tool_loop",
    "run_until_cancelled",
    "strategy_tool_schema",
]
