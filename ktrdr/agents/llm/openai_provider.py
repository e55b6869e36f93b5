"""OpenAI (or any OpenAI-compatible server) through the official SDK: chat completions + tools."""

from __future__ import annotations

import json
from typing import Any

import openai

from ktrdr.agents.llm._http import connection_error, status_error
from ktrdr.agents.llm._types import LLMRequest, LLMResponse, Message, ToolCall


class OpenAIProvider:
    """Calls ``POST {base_url}/chat/completions`` once per :meth:`complete`."""

    name = "openai"

    def __init__(self, *, api_key: str, base_url: str | None, timeout: float) -> None:
        self._client = openai.AsyncOpenAI(
            api_key=api_key, base_url=base_url, timeout=timeout, max_retries=0
        )

    async def complete(self, request: LLMRequest) -> LLMResponse:
        """One chat completion, translated to a provider-neutral response."""
        try:
            reply = await self._client.chat.completions.create(**request_body(request))
        except openai.APIStatusError as exc:
            raise status_error(self.name, exc.response, exc.message) from exc
        except openai.APIConnectionError as exc:
            raise connection_error(self.name, exc) from exc
        message = reply.choices[0].message
        usage = reply.usage
        return LLMResponse(
            model=reply.model or request.model,
            text=message.content or "",
            tool_calls=tuple(_call(call) for call in message.tool_calls or ()),
            input_tokens=(usage.prompt_tokens or 0) if usage else 0,
            output_tokens=(usage.completion_tokens or 0) if usage else 0,
            stop_reason=reply.choices[0].finish_reason,
        )

    async def aclose(self) -> None:
        """Close the SDK's HTTP connections."""
        await self._client.close()


def request_body(request: LLMRequest) -> dict[str, Any]:
    """The chat completions body for ``request``."""
    messages: list[dict[str, Any]] = [{"role": "system", "content": request.system}]
    for message in request.messages:
        messages.extend(_messages(message))
    body: dict[str, Any] = {"model": request.model, "messages": messages}
    if request.tools:
        body["tools"] = [
            {
                "type": "function",
                "function": {
                    "name": t.name,
                    "description": t.description,
                    "parameters": t.input_schema,
                },
            }
            for t in request.tools
        ]
    if request.required_tool:
        body["tool_choice"] = {"type": "function", "function": {"name": request.required_tool}}
    return body


def _messages(message: Message) -> list[dict[str, Any]]:
    if message.role == "user":
        return [{"role": "user", "content": message.text}]
    if message.role == "tool":
        return [
            {"role": "tool", "tool_call_id": result.call_id, "content": result.content}
            for result in message.tool_results
        ]
    reply: dict[str, Any] = {"role": "assistant", "content": message.text or None}
    if message.tool_calls:
        reply["tool_calls"] = [
            {
                "id": call.id,
                "type": "function",
                "function": {"name": call.name, "arguments": json.dumps(call.arguments)},
            }
            for call in message.tool_calls
        ]
    return [reply]


def _call(call: Any) -> ToolCall:
    raw = call.function.arguments or "{}"
    try:
        arguments = json.loads(raw)
    except json.JSONDecodeError as exc:
        return ToolCall(call.id, call.function.name, {}, parse_error=f"not valid JSON: {exc}")
    if not isinstance(arguments, dict):
        return ToolCall(call.id, call.function.name, {}, parse_error="not a JSON object")
    return ToolCall(call.id, call.function.name, arguments)
