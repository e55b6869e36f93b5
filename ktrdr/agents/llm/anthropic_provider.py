"""Anthropic through the official SDK: the Messages API with tool use."""

from __future__ import annotations

from typing import Any

import anthropic

from ktrdr.agents.llm._http import connection_error, status_error
from ktrdr.agents.llm._types import LLMRequest, LLMResponse, Message, ToolCall


class AnthropicProvider:
    """Calls ``POST /v1/messages`` once per :meth:`complete`; retries are the session's job."""

    name = "anthropic"

    def __init__(self, *, api_key: str, base_url: str | None, timeout: float) -> None:
        self._client = anthropic.AsyncAnthropic(
            api_key=api_key, base_url=base_url, timeout=timeout, max_retries=0
        )

    async def complete(self, request: LLMRequest) -> LLMResponse:
        """One Messages API call, translated to a provider-neutral response."""
        try:
            reply = await self._client.messages.create(**request_body(request))
        except anthropic.APIStatusError as exc:
            raise status_error(self.name, exc.response, _error_message(exc)) from exc
        except anthropic.APIConnectionError as exc:
            raise connection_error(self.name, exc) from exc
        calls = tuple(
            ToolCall(id=block.id, name=block.name, arguments=dict(block.input or {}))
            for block in reply.content
            if block.type == "tool_use"
        )
        return LLMResponse(
            model=reply.model,
            text="".join(block.text for block in reply.content if block.type == "text"),
            tool_calls=calls,
            input_tokens=reply.usage.input_tokens or 0,
            output_tokens=reply.usage.output_tokens or 0,
            stop_reason=reply.stop_reason,
        )

    async def aclose(self) -> None:
        """Close the SDK's HTTP connections."""
        await self._client.close()


def request_body(request: LLMRequest) -> dict[str, Any]:
    """The Messages API body for ``request``."""
    body: dict[str, Any] = {
        "model": request.model,
        "max_tokens": request.max_output_tokens,
        "system": request.system,
        "messages": [_message(message) for message in request.messages],
    }
    if request.tools:
        body["tools"] = [
            {"name": t.name, "description": t.description, "input_schema": t.input_schema}
            for t in request.tools
        ]
    if request.required_tool:
        body["tool_choice"] = {"type": "tool", "name": request.required_tool}
    return body


def _message(message: Message) -> dict[str, Any]:
    if message.role == "user":
        return {"role": "user", "content": message.text}
    if message.role == "tool":
        results = [
            {
                "type": "tool_result",
                "tool_use_id": result.call_id,
                "content": result.content,
                "is_error": result.is_error,
            }
            for result in message.tool_results
        ]
        return {"role": "user", "content": results}
    blocks: list[dict[str, Any]] = [{"type": "text", "text": message.text}] if message.text else []
    blocks += [
        {"type": "tool_use", "id": call.id, "name": call.name, "input": call.arguments}
        for call in message.tool_calls
    ]
    return {"role": "assistant", "content": blocks}


def _error_message(exc: anthropic.APIStatusError) -> str:
    body = exc.body if isinstance(exc.body, dict) else {}
    error = body.get("error") if isinstance(body.get("error"), dict) else {}
    kind = error.get("type")
    text = error.get("message") or exc.message
    return f"{kind}: {text}" if kind else str(text)
