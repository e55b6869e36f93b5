"""Provider-neutral LLM requests and responses: what designers and assessors speak."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, Literal


@dataclass(frozen=True)
class ToolSpec:
    """A tool the model may call: ``input_schema`` is the JSON Schema of its input object."""

    name: str
    description: str
    input_schema: dict[str, Any]


@dataclass(frozen=True)
class ToolCall:
    """The model asked to call ``name`` with ``arguments`` (``id`` pairs it with its result).

    ``parse_error`` is set when the provider sent arguments that are not a JSON object.
    """

    id: str
    name: str
    arguments: dict[str, Any]
    parse_error: str | None = None


@dataclass(frozen=True)
class ToolResult:
    """What a tool call returned to the model; ``is_error`` marks a refused input."""

    call_id: str
    content: str
    is_error: bool = False


@dataclass(frozen=True)
class Message:
    """One conversation turn: user text, assistant text and tool calls, or tool results."""

    role: Literal["user", "assistant", "tool"]
    text: str = ""
    tool_calls: tuple[ToolCall, ...] = ()
    tool_results: tuple[ToolResult, ...] = ()


@dataclass(frozen=True)
class LLMRequest:
    """One model call: system prompt, conversation, tools, and the tool the model must call."""

    model: str
    system: str
    messages: tuple[Message, ...]
    tools: tuple[ToolSpec, ...] = ()
    required_tool: str | None = None
    max_output_tokens: int = 8192

    def to_dict(self) -> dict[str, Any]:
        """The whole request as plain JSON data (the replay cache hashes it)."""
        return asdict(self)


@dataclass(frozen=True)
class LLMResponse:
    """The model's answer: text, tool calls, and the tokens it billed."""

    model: str
    text: str = ""
    tool_calls: tuple[ToolCall, ...] = ()
    input_tokens: int = 0
    output_tokens: int = 0
    stop_reason: str | None = None
    cached: bool = field(default=False, compare=False)

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON data, e.g. for the replay cache."""
        data = asdict(self)
        data.pop("cached")
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any], *, cached: bool = False) -> LLMResponse:
        """Rebuild a response stored with :meth:`to_dict`."""
        calls = tuple(ToolCall(**call) for call in data.get("tool_calls", ()))
        return cls(**{**data, "tool_calls": calls}, cached=cached)
