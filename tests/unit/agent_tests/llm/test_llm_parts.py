"""Small parts: retry waits, model resolution, request keys, the package's public names."""

from __future__ import annotations

import pytest

import ktrdr.agents.llm
from ktrdr.agents.llm import LLMRequest, Message, request_key, resolve_model
from ktrdr.agents.llm._retry import RETRY_MAX_SECONDS, retry_delay
from ktrdr.errors import ValidationError
from ktrdr.settings import Settings


def test_the_server_hint_wins_but_is_capped() -> None:
    assert retry_delay(3, retry_after=0.0) == 0.0
    assert retry_delay(0, retry_after=2.5) == 2.5
    assert retry_delay(0, retry_after=3600) == RETRY_MAX_SECONDS


@pytest.mark.parametrize("attempt", [0, 1, 2, 3])
def test_backoff_doubles_within_its_jitter(attempt: int) -> None:
    base = 0.5 * 2**attempt
    assert base * 0.75 <= retry_delay(attempt) <= base * 1.25


def test_aliases_and_extra_priced_models_resolve() -> None:
    settings = Settings(llm_prices={"llama3.1:8b": {"input": 0, "output": 0}})

    assert resolve_model(settings, "anthropic", "sonnet") == "claude-sonnet-5-5"
    assert resolve_model(settings, "openai", "llama3.1:8b") == "llama3.1:8b"
    assert resolve_model(settings, "openai") == "gpt-5.4"
    assert "claude-opus-5-5" in settings.llm_prices  # the defaults stay


def test_an_unpriced_model_is_refused_with_the_way_out() -> None:
    with pytest.raises(ValidationError, match="KTRDR_LLM_PRICES"):
        resolve_model(Settings(), "openai", "gpt-99")


def test_request_keys_change_with_any_part_of_the_request() -> None:
    request = LLMRequest(model="m", system="s", messages=(Message("user", "hi"),))
    other = LLMRequest(model="m", system="s", messages=(Message("user", "hi!"),))

    assert request_key("anthropic", request) == request_key("anthropic", request)
    assert request_key("anthropic", request) != request_key("openai", request)
    assert request_key("anthropic", request) != request_key("anthropic", other)


def test_all_matches_the_public_namespace() -> None:
    package = ktrdr.agents.llm
    public = {
        name
        for name, value in vars(package).items()
        if not name.startswith("_") and getattr(value, "__module__", "").startswith("ktrdr.")
    }
    public |= {"API_KEY_ENV", "PROVIDERS", "STRATEGY_FORMAT"}
    assert sorted(package.__all__) == sorted(public)
