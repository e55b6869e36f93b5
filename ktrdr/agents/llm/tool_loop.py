"""The tool loop: the model calls one tool until its input is accepted, within a turn limit."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any, TypeVar

from ktrdr.agents.llm._types import LLMRequest, Message, ToolCall, ToolResult, ToolSpec
from ktrdr.agents.llm.session import LLMSession

logger = logging.getLogger(__name__)

T = TypeVar("T")


class ToolInputError(Exception):
    """A tool refused its input; ``issues`` are ``{path, message}`` pairs for the model."""

    def __init__(self, issues: list[dict[str, str]]) -> None:
        super().__init__(format_issues(issues))
        self.issues = issues


class ToolLoopExhausted(Exception):
    """No accepted tool call within ``attempts`` turns; ``last_errors`` says why."""

    def __init__(self, attempts: int, last_errors: str) -> None:
        super().__init__(f"no accepted tool call after {attempts} attempts: {last_errors}")
        self.attempts = attempts
        self.last_errors = last_errors


def format_issues(issues: list[dict[str, str]]) -> str:
    """``"path: message; path: message"``, e.g. ``"model.lookback: must be >= 1"``."""
    return "; ".join(
        f"{issue['path']}: {issue['message']}" if issue.get("path") else issue["message"]
        for issue in issues
    )


async def run_tool_loop(
    session: LLMSession,
    *,
    model: str,
    system: str,
    prompt: str,
    tool: ToolSpec,
    accept: Callable[[dict[str, Any]], T],
    max_turns: int,
) -> T:
    """Ask for ``tool`` until ``accept(arguments)`` returns without ``ToolInputError``.

    Each refused call goes back to the model as an error tool result listing the issues with
    their field paths; after ``max_turns`` calls ``ToolLoopExhausted`` carries the last issues.
    """
    messages: list[Message] = [Message(role="user", text=prompt)]
    last_errors = f"the model never called {tool.name}"
    for turn in range(1, max_turns + 1):
        request = LLMRequest(
            model=model,
            system=system,
            messages=tuple(messages),
            tools=(tool,),
            required_tool=tool.name,
        )
        response = await session.complete(request)
        messages.append(
            Message(role="assistant", text=response.text, tool_calls=response.tool_calls)
        )
        if not response.tool_calls:
            last_errors = f"the model answered without calling {tool.name}"
            messages.append(Message(role="user", text=f"Call the {tool.name} tool now."))
            continue
        results = []
        for call in response.tool_calls:
            try:
                return _accepted(call, tool, accept)
            except ToolInputError as exc:
                last_errors = str(exc)
                results.append(ToolResult(call.id, _refusal(tool, exc.issues), is_error=True))
        logger.info("%s refused on turn %d/%d: %s", tool.name, turn, max_turns, last_errors)
        messages.append(Message(role="tool", tool_results=tuple(results)))
    raise ToolLoopExhausted(max_turns, last_errors)


def _accepted(call: ToolCall, tool: ToolSpec, accept: Callable[[dict[str, Any]], T]) -> T:
    if call.name != tool.name:
        raise ToolInputError([{"path": "", "message": f"unknown tool {call.name!r}"}])
    if call.parse_error:
        raise ToolInputError([{"path": "", "message": f"arguments {call.parse_error}"}])
    return accept(call.arguments)


def _refusal(tool: ToolSpec, issues: list[dict[str, str]]) -> str:
    lines = "\n".join(f"- {issue.get('path') or '(input)'}: {issue['message']}" for issue in issues)
    return f"Refused: fix these errors and call {tool.name} again.\n{lines}"
