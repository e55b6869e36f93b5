"""The one settings object, read from ``KTRDR_*`` environment variables."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Literal, get_args

from pydantic import AliasChoices, BaseModel, ConfigDict, Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

AgentName = Literal["offline", "anthropic", "openai"]
"""Who designs or assesses a research cycle: ``offline`` (rules, no LLM) or an LLM provider."""
AGENT_NAMES: tuple[AgentName, ...] = get_args(AgentName)


def _gate_env(name: str) -> AliasChoices:
    """Gate thresholds are read from ``NAME`` (DESIGN §4) or ``KTRDR_NAME``."""
    return AliasChoices(name.lower(), f"KTRDR_{name}", name)


def _provider_env(name: str) -> AliasChoices:
    """Provider credentials and endpoints: the SDKs' own ``NAME`` or ``KTRDR_NAME``."""
    return AliasChoices(name.lower(), name, f"KTRDR_{name}")


class ModelPrice(BaseModel):
    """USD per million tokens, e.g. ``{input: 3.0, output: 15.0}`` for Claude Sonnet."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    input: float = Field(ge=0)
    output: float = Field(ge=0)


DEFAULT_MODEL_ALIASES: dict[str, str] = {
    "opus": "claude-opus-5-5",
    "sonnet": "claude-sonnet-5-5",
    "haiku": "claude-haiku-4-5",
    "gpt": "gpt-5.5",
    "gpt-mini": "gpt-5.4-mini",
    "gpt-nano": "gpt-5.4-nano",
}
# USD per million (input, output) tokens, standard tier, from the providers' price pages
# (2026); check them before relying on the budget and override with KTRDR_LLM_PRICES.
DEFAULT_MODEL_PRICES: dict[str, ModelPrice] = {
    name: ModelPrice(input=price[0], output=price[1])
    for name, price in {
        "claude-fable-5-1": (10.0, 50.0),
        "claude-opus-5-5": (4.0, 20.0),
        "claude-opus-5": (5.0, 25.0),
        "claude-opus-4-6": (5.0, 25.0),
        "claude-sonnet-5-5": (2.0, 10.0),
        "claude-sonnet-5": (2.0, 10.0),
        "claude-sonnet-4-6": (3.0, 15.0),
        "claude-haiku-4-5": (1.0, 5.0),
        "gpt-5.5": (5.0, 30.0),
        "gpt-5.4": (2.5, 15.0),
        "gpt-5.4-mini": (0.75, 4.5),
        "gpt-5.4-nano": (0.2, 1.25),
    }.items()
}


DEFAULT_HOME = Path.home() / ".ktrdr"
DEFAULT_API_HOST = "127.0.0.1"
DEFAULT_API_PORT = 8000


class Settings(BaseSettings):
    """Every tunable of ktrdr; each field maps to ``KTRDR_<FIELD>`` (e.g. ``KTRDR_HOME``)."""

    model_config = SettingsConfigDict(
        env_prefix="KTRDR_", extra="ignore", frozen=True, populate_by_name=True
    )

    home: Path = Field(default=DEFAULT_HOME, description="Root of every file ktrdr writes.")
    database_url: str | None = Field(
        default=None, description="SQLAlchemy URL; default: SQLite file ktrdr.db in home."
    )

    api_host: str = DEFAULT_API_HOST
    api_port: int = Field(default=DEFAULT_API_PORT, ge=1, le=65535)
    api_token: str | None = Field(default=None, description="Bearer token required when set.")
    api_url: str = f"http://{DEFAULT_API_HOST}:{DEFAULT_API_PORT}"
    max_request_bytes: int = Field(default=1024 * 1024, ge=1024)
    max_upload_bytes: int = Field(
        default=256 * 1024 * 1024, ge=1024, description="Body limit of POST /data/import."
    )
    cors_origins: list[str] = Field(default_factory=list)
    allowed_hosts: list[str] = Field(
        default_factory=lambda: ["localhost", "127.0.0.1", "::1"],
        description="Host header names the API answers (DNS-rebinding guard); '*' allows any.",
    )
    log_format: Literal["text", "json"] = "text"
    log_level: str = "INFO"

    executor: Literal["local", "ray"] = "local"
    workers: int = Field(default=2, ge=1, le=256, description="Local worker processes.")
    ray_address: str = Field(
        default="", description="Empty: start a local Ray; 'auto' or 'ray://host:port': join one."
    )
    ray_job_resources: dict[str, float] = Field(
        default_factory=dict,
        description='Custom Ray resources every Ray job asks for, e.g. {"ktrdr_worker": 1}.',
    )
    ray_num_cpus: int | None = Field(default=None, ge=1, description="CPUs of a local Ray.")
    ray_object_store_mb: int | None = Field(
        default=None, ge=75, description="Object store MiB of a local Ray (default: Ray's)."
    )
    training_gpus: float = Field(default=0.0, ge=0)
    holdout_fraction: float = Field(
        default=0.20,
        gt=0,
        lt=1,
        description="Share of a data set's bars sealed as its holdout, fixed at first use.",
    )
    training_device: Literal["auto", "cpu", "cuda", "mps"] = "auto"
    cancel_grace_seconds: float = Field(default=2.0, ge=0)
    progress_min_interval: float = Field(
        default=0.25, ge=0, description="Seconds between two progress writes of one operation."
    )

    agent_poll_interval: float = Field(default=1.0, gt=0)
    agent_max_concurrent_researches: int = Field(default=1, ge=1)
    agent_designer: AgentName = "offline"
    agent_assessor: AgentName = "offline"
    agent_model: str | None = None
    agent_max_turns: int = Field(default=6, ge=1)
    agent_daily_budget: float = Field(default=0.0, ge=0, description="USD per day; 0 = unlimited.")
    agent_seed: int = 42

    anthropic_api_key: str | None = Field(
        default=None, validation_alias=_provider_env("ANTHROPIC_API_KEY"), repr=False
    )
    anthropic_base_url: str | None = Field(
        default=None, validation_alias=_provider_env("ANTHROPIC_BASE_URL")
    )
    anthropic_model: str = Field(default="sonnet", description="Default model or alias.")
    openai_api_key: str | None = Field(
        default=None, validation_alias=_provider_env("OPENAI_API_KEY"), repr=False
    )
    openai_base_url: str | None = Field(
        default=None,
        validation_alias=_provider_env("OPENAI_BASE_URL"),
        description="Any OpenAI-compatible endpoint, e.g. http://127.0.0.1:11434/v1.",
    )
    openai_model: str = Field(default="gpt-5.4", description="Default model or alias.")
    llm_timeout_seconds: float = Field(default=120.0, gt=0, description="Per HTTP attempt.")
    llm_max_retries: int = Field(
        default=4, ge=0, description="Retries on rate limits, overload, 5xx and timeouts."
    )
    llm_model_aliases: dict[str, str] = Field(
        default_factory=lambda: dict(DEFAULT_MODEL_ALIASES),
        description="Alias -> model id; entries given are added to the defaults.",
    )
    llm_prices: dict[str, ModelPrice] = Field(
        default_factory=lambda: dict(DEFAULT_MODEL_PRICES),
        description="Model id -> USD per million tokens; given entries extend the defaults.",
    )
    llm_cache: bool = Field(
        default=False, description="Replay cache: identical requests are answered from the store."
    )
    llm_blind: bool = Field(
        default=True,
        description=(
            "Blind LLM prompts: the market as an alias (ASSET_1), times as bar counts, prices "
            "normalised; no calendar date, no real symbol (DESIGN §11)."
        ),
    )

    training_gate_min_accuracy: float = Field(
        default=0.40, validation_alias=_gate_env("TRAINING_GATE_MIN_ACCURACY")
    )
    training_gate_max_loss: float = Field(
        default=1.00, validation_alias=_gate_env("TRAINING_GATE_MAX_LOSS")
    )
    training_gate_min_loss_decrease: float = Field(
        default=0.05, validation_alias=_gate_env("TRAINING_GATE_MIN_LOSS_DECREASE")
    )
    training_gate_min_skill: float = Field(
        default=0.02,
        validation_alias=_gate_env("TRAINING_GATE_MIN_SKILL"),
        description="Balanced accuracy minus chance (1/K classes present) must reach this.",
    )
    training_gate_min_log_loss_skill: float = Field(
        default=0.0,
        validation_alias=_gate_env("TRAINING_GATE_MIN_LOG_LOSS_SKILL"),
        description="1 - test loss / log-loss of the training class frequencies must reach this.",
    )
    backtest_gate_min_trades: int = Field(
        default=5, validation_alias=_gate_env("BACKTEST_GATE_MIN_TRADES")
    )
    backtest_gate_min_win_rate: float = Field(
        default=0.35, validation_alias=_gate_env("BACKTEST_GATE_MIN_WIN_RATE")
    )
    backtest_gate_max_drawdown: float = Field(
        default=0.40, validation_alias=_gate_env("BACKTEST_GATE_MAX_DRAWDOWN")
    )
    backtest_gate_min_sharpe: float = Field(
        default=-0.5, validation_alias=_gate_env("BACKTEST_GATE_MIN_SHARPE")
    )
    # The deterministic research-window verdict (DESIGN §11 Verdicts).
    verdict_min_dsr: float = Field(default=0.95, validation_alias=_gate_env("VERDICT_MIN_DSR"))
    verdict_min_trades: int = Field(default=30, validation_alias=_gate_env("VERDICT_MIN_TRADES"))

    @field_validator("llm_model_aliases", mode="after")
    @classmethod
    def _extend_aliases(cls, value: dict[str, str]) -> dict[str, str]:
        return {**DEFAULT_MODEL_ALIASES, **value}

    @field_validator("llm_prices", mode="after")
    @classmethod
    def _extend_prices(cls, value: dict[str, ModelPrice]) -> dict[str, ModelPrice]:
        return {**DEFAULT_MODEL_PRICES, **value}

    @property
    def resolved_database_url(self) -> str:
        """The database URL in force: the configured one, else SQLite in ``home``."""
        return self.database_url or f"sqlite:///{self.home / 'ktrdr.db'}"

    def path(self, *parts: str) -> Path:
        """A path under ``home`` (not created)."""
        return self.home.joinpath(*parts)


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process-wide settings, read once from the environment."""
    return Settings()


def reset_settings() -> None:
    """Forget the cached settings so the next ``get_settings`` re-reads the environment."""
    get_settings.cache_clear()
