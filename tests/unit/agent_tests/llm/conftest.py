"""LLM test fixtures: a fake LLM server, provider settings pointing at it, a worker store."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from support.fake_llm import FakeLLMServer, Reply, Responder

from ktrdr.execution import reporter as reporter_module
from ktrdr.execution import worker_operations
from ktrdr.operations import OperationsService, OperationType
from ktrdr.settings import reset_settings

PROVIDERS = ["anthropic", "openai"]


@pytest.fixture
def fake_llm() -> Iterator[Callable[..., FakeLLMServer]]:
    """Start fake LLM servers scripted with replies (or a responder); all stop afterwards."""
    started: list[FakeLLMServer] = []

    def start(replies: list[Reply] | Responder) -> FakeLLMServer:
        server = FakeLLMServer(replies).start()
        started.append(server)
        return server

    yield start
    for server in started:
        server.stop()


@pytest.fixture
def llm_env(ktrdr_home: Path, monkeypatch: pytest.MonkeyPatch) -> Callable[..., None]:
    """Point both providers at a fake server (keys set) and apply extra ``KTRDR_*`` values."""

    def configure(server: FakeLLMServer, **extra: str) -> None:
        monkeypatch.setenv("ANTHROPIC_API_KEY", "test-anthropic")
        monkeypatch.setenv("ANTHROPIC_BASE_URL", server.url)
        monkeypatch.setenv("OPENAI_API_KEY", "test-openai")
        monkeypatch.setenv("OPENAI_BASE_URL", server.openai_url)
        monkeypatch.setenv("KTRDR_LLM_TIMEOUT_SECONDS", "20")
        for name, value in extra.items():
            monkeypatch.setenv(name, value)
        reset_settings()

    return configure


@pytest.fixture
def operations(ktrdr_home: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[OperationsService]:
    """The worker's operations service on a fresh store in the temp home, progress unthrottled."""
    monkeypatch.setenv("KTRDR_PROGRESS_MIN_INTERVAL", "0")
    reset_settings()
    monkeypatch.setattr(reporter_module, "_operations", None)
    service = worker_operations()
    yield service
    service.store.dispose()


@pytest.fixture
def child_of_research(operations: OperationsService) -> Callable[[OperationType], tuple[str, str]]:
    """A running research operation with one child of the given type: (research id, child id)."""

    def create(kind: OperationType) -> tuple[str, str]:
        research = operations.create(OperationType.AGENT_RESEARCH).operation_id
        operations.start(research)
        child = operations.create(kind, parent_operation_id=research).operation_id
        return research, child

    return create
