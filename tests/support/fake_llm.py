"""A local fake LLM server speaking the Anthropic Messages API and OpenAI chat completions.

Start it on a free loopback port, point the real SDK clients at it (``anthropic_url``,
``openai_url``) and script its answers: a list of replies used in order, or a responder
function of the request body. Every request body it received is kept in ``requests``.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from ktrdr.strategy import load_strategy, strategy_to_dict

ANTHROPIC_PATH = "/v1/messages"
OPENAI_PATH = "/v1/chat/completions"
ANTHROPIC_ERRORS = {429: "rate_limit_error", 529: "overloaded_error", 500: "api_error"}
EXAMPLE = (
    Path(__file__).resolve().parents[2] / "examples" / "strategies" / "eurusd_rsi_macd_mlp.yaml"
)
ASSESSMENT_INPUT = {
    "verdict": "neutral",
    "strengths": ["test accuracy 45% beats the 33% of chance"],
    "weaknesses": ["Sharpe -0.2 over the backtest"],
    "suggestions": ["raise decisions.confidence_threshold from 0.34 to 0.45"],
    "hypotheses": ["RSI zones on 4h filter the 1h noise"],
}


def quick_strategy(name: str = "llm_eurusd_rsi", epochs: int = 3) -> dict[str, Any]:
    """A valid tool input: the EURUSD RSI/MACD example with a tiny model that trades."""
    data = strategy_to_dict(load_strategy(EXAMPLE))
    data["name"] = name
    data["model"]["architecture"]["hidden_layers"] = [8]
    data["decisions"]["confidence_threshold"] = 0.34  # a tiny model is rarely confident
    data["training"].update({"epochs": epochs, "early_stopping": {"patience": epochs}})
    return data


@dataclass(frozen=True)
class ToolUse:
    """The model calls ``name`` with ``input``; ``usage`` is what the answer bills."""

    name: str
    input: dict[str, Any]
    input_tokens: int = 1200
    output_tokens: int = 300


@dataclass(frozen=True)
class Text:
    """The model answers with text and no tool call."""

    text: str
    input_tokens: int = 500
    output_tokens: int = 50


@dataclass(frozen=True)
class Failure:
    """An HTTP error answer, e.g. 429 with ``retry-after: 0``."""

    status: int
    retry_after: str | None = "0"


@dataclass(frozen=True)
class Hang:
    """Accept the request and answer nothing for ``seconds`` (or until the server stops)."""

    seconds: float = 60.0


Reply = ToolUse | Text | Failure | Hang
Responder = Callable[[dict[str, Any]], Reply]


@dataclass
class Received:
    """One request the server got: its path and JSON body."""

    path: str
    body: dict[str, Any]
    headers: dict[str, str] = field(default_factory=dict)


def tool_names(body: dict[str, Any]) -> list[str]:
    """The tool names offered in an Anthropic or OpenAI request body."""
    return [tool.get("name") or tool["function"]["name"] for tool in body.get("tools", [])]


def last_tool_result(body: dict[str, Any]) -> str:
    """The text of the newest tool result in a request body (either API), '' if none."""
    for message in reversed(body.get("messages", [])):
        if message.get("role") == "tool":
            return str(message.get("content"))
        content = message.get("content")
        if isinstance(content, list):
            results = [block for block in content if block.get("type") == "tool_result"]
            if results:
                return str(results[-1].get("content"))
    return ""


class FakeLLMServer:
    """Both APIs on one ``ThreadingHTTPServer``; use as a context manager."""

    def __init__(self, replies: Iterable[Reply] | Responder = ()) -> None:
        self.requests: list[Received] = []
        self.responder: Responder = self.script(replies) if not callable(replies) else replies
        self._stopping = threading.Event()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler_class())
        self._server.daemon_threads = True
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )

    @property
    def url(self) -> str:
        """``http://127.0.0.1:<port>``: the Anthropic base URL."""
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    @property
    def openai_url(self) -> str:
        """The OpenAI base URL (with ``/v1``)."""
        return f"{self.url}/v1"

    @staticmethod
    def script(replies: Iterable[Reply]) -> Responder:
        """A responder answering with ``replies`` in order (500 once they run out)."""
        queue: Iterator[Reply] = iter(list(replies))
        return lambda _body: next(queue, Failure(500, retry_after=None))

    def start(self) -> FakeLLMServer:
        """Serve in a background thread."""
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving; hung requests are released."""
        self._stopping.set()
        self._server.shutdown()
        self._server.server_close()

    def __enter__(self) -> FakeLLMServer:
        return self.start()

    def __exit__(self, *_exc: object) -> None:
        self.stop()

    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("content-length") or 0)
                body = json.loads(self.rfile.read(length) or b"{}")
                fake.requests.append(Received(self.path, body, dict(self.headers)))
                reply = fake.responder(body)
                if isinstance(reply, Hang):
                    fake._stopping.wait(reply.seconds)
                    return
                status, headers, payload = _wire(self.path, body, reply, len(fake.requests))
                data = json.dumps(payload).encode()
                self.send_response(status)
                for name, value in {**headers, "content-type": "application/json"}.items():
                    self.send_header(name, value)
                self.send_header("content-length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *_args: Any) -> None:
                return

        return Handler


def _wire(path: str, body: dict[str, Any], reply: Reply, number: int) -> tuple[int, dict, dict]:
    anthropic = path.endswith(ANTHROPIC_PATH)
    if isinstance(reply, Failure):
        headers = {"retry-after": reply.retry_after} if reply.retry_after is not None else {}
        kind = ANTHROPIC_ERRORS.get(reply.status, "api_error")
        if anthropic:
            return (
                reply.status,
                headers,
                {"type": "error", "error": {"type": kind, "message": kind}},
            )
        return reply.status, headers, {"error": {"message": kind, "type": kind, "code": None}}
    if anthropic:
        return 200, {}, _anthropic_message(body, reply, number)
    return 200, {}, _openai_completion(body, reply, number)


def _anthropic_message(body: dict[str, Any], reply: ToolUse | Text, number: int) -> dict:
    if isinstance(reply, ToolUse):
        content = [
            {"type": "tool_use", "id": f"toolu_{number}", "name": reply.name, "input": reply.input}
        ]
    else:
        content = [{"type": "text", "text": reply.text}]
    return {
        "id": f"msg_{number}",
        "type": "message",
        "role": "assistant",
        "model": body.get("model"),
        "content": content,
        "stop_reason": "tool_use" if isinstance(reply, ToolUse) else "end_turn",
        "stop_sequence": None,
        "usage": {"input_tokens": reply.input_tokens, "output_tokens": reply.output_tokens},
    }


def _openai_completion(body: dict[str, Any], reply: ToolUse | Text, number: int) -> dict:
    message: dict[str, Any] = {"role": "assistant", "content": None}
    if isinstance(reply, ToolUse):
        message["tool_calls"] = [
            {
                "id": f"call_{number}",
                "type": "function",
                "function": {"name": reply.name, "arguments": json.dumps(reply.input)},
            }
        ]
    else:
        message["content"] = reply.text
    return {
        "id": f"chatcmpl-{number}",
        "object": "chat.completion",
        "created": int(time.time()),
        "model": body.get("model"),
        "choices": [
            {
                "index": 0,
                "message": message,
                "finish_reason": "tool_calls" if isinstance(reply, ToolUse) else "stop",
            }
        ],
        "usage": {
            "prompt_tokens": reply.input_tokens,
            "completion_tokens": reply.output_tokens,
            "total_tokens": reply.input_tokens + reply.output_tokens,
        },
    }
