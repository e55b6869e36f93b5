"""Model aliases, prices and provider clients, all from the settings."""

from __future__ import annotations

from typing import Protocol

from ktrdr.agents.llm._types import LLMRequest, LLMResponse
from ktrdr.agents.roles import OFFLINE
from ktrdr.errors import ValidationError
from ktrdr.settings import AGENT_NAMES, ModelPrice, Settings

PROVIDERS = tuple(name for name in AGENT_NAMES if name != OFFLINE)
API_KEY_ENV = {"anthropic": "ANTHROPIC_API_KEY", "openai": "OPENAI_API_KEY"}
TOKENS_PER_PRICE_UNIT = 1_000_000


class LLMProvider(Protocol):
    """One LLM API behind one call: ``complete(request)``, then ``aclose()``."""

    name: str

    async def complete(self, request: LLMRequest) -> LLMResponse:
        """Send one request (no retries) and return the model's answer."""
        ...

    async def aclose(self) -> None:
        """Release the HTTP connections."""
        ...


def resolve_model(settings: Settings, provider: str, requested: str | None = None) -> str:
    """The full model id: ``requested`` (or the provider's default), aliases expanded.

    E.g. ``"sonnet"`` -> ``"claude-sonnet-4-5"``. A model neither aliased nor priced is a
    ``ValidationError`` naming the choices (add it with ``KTRDR_LLM_PRICES``).
    """
    name = requested or _default_model(settings, provider)
    model = settings.llm_model_aliases.get(name, name)
    if model not in settings.llm_prices:
        aliases = ", ".join(sorted(settings.llm_model_aliases))
        raise ValidationError(
            f"model {name!r} is unknown; use an alias ({aliases}) "
            f"or a priced model ({', '.join(sorted(settings.llm_prices))}), or add it to "
            'KTRDR_LLM_PRICES, e.g. {"my-model": {"input": 0, "output": 0}}',
            details={"field": "model", "model": name},
        )
    return model


def cycle_models(
    settings: Settings, *, designer: str | None, assessor: str | None, model: str | None
) -> dict[str, str]:
    """Phase -> full model id for each phase an LLM runs, e.g. ``{"design": "claude-..."}``.

    ``model`` (the trigger's, else ``KTRDR_AGENT_MODEL``) is the designer's; the assessor uses
    it too when it runs on the same provider or the designer is offline, else its provider's
    default. An unknown model is a ``ValidationError``; offline phases are left out.
    """
    requested = model or settings.agent_model
    models: dict[str, str] = {}
    if designer in PROVIDERS:
        models["design"] = resolve_model(settings, designer, requested)
    if assessor in PROVIDERS:
        shared = assessor == designer or designer not in PROVIDERS
        models["assessment"] = resolve_model(settings, assessor, requested if shared else None)
    if requested and not models:
        resolve_model(settings, "anthropic", requested)  # still refuse a misspelt model
    return models


def require_api_key(settings: Settings, provider: str) -> str:
    """The provider's API key; a ``ValidationError`` naming the variable to set when missing."""
    key = {"anthropic": settings.anthropic_api_key, "openai": settings.openai_api_key}.get(provider)
    if provider not in PROVIDERS:
        raise ValidationError(f"LLM provider {provider!r} is unknown; use {', '.join(PROVIDERS)}")
    if not key:
        raise ValidationError(
            f"{provider} needs an API key: set {API_KEY_ENV[provider]}",
            details={"field": provider, "variable": API_KEY_ENV[provider]},
        )
    return key


def model_price(settings: Settings, model: str) -> ModelPrice:
    """USD per million input and output tokens of ``model`` (``ValidationError`` if unpriced)."""
    price = settings.llm_prices.get(model)
    if price is None:
        raise ValidationError(f"model {model!r} has no price; add it to KTRDR_LLM_PRICES")
    return price


def call_cost(settings: Settings, model: str, input_tokens: int, output_tokens: int) -> float:
    """USD of one call, e.g. 10 000 in + 2 000 out on Sonnet ($3/$15) = 0.03 + 0.03 = 0.06."""
    price = model_price(settings, model)
    return (input_tokens * price.input + output_tokens * price.output) / TOKENS_PER_PRICE_UNIT


def create_provider(settings: Settings, provider: str) -> LLMProvider:
    """A client for ``provider`` configured from the settings (key, base URL, timeout)."""
    key = require_api_key(settings, provider)
    timeout = settings.llm_timeout_seconds
    if provider == "anthropic":
        from ktrdr.agents.llm.anthropic_provider import AnthropicProvider

        return AnthropicProvider(api_key=key, base_url=settings.anthropic_base_url, timeout=timeout)
    from ktrdr.agents.llm.openai_provider import OpenAIProvider

    return OpenAIProvider(api_key=key, base_url=settings.openai_base_url, timeout=timeout)


def _default_model(settings: Settings, provider: str) -> str:
    return settings.anthropic_model if provider == "anthropic" else settings.openai_model
