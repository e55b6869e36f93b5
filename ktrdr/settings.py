"""The one settings object, read from ``KTRDR_*`` environment variables."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import AliasChoices, Field
from pydantic_settings import BaseSettings, SettingsConfigDict


def _gate_env(name: str) -> AliasChoices:
    """Gate thresholds are read from ``NAME`` (DESIGN §4) or ``KTRDR_NAME``."""
    return AliasChoices(name.lower(), f"KTRDR_{name}", name)


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
    log_format: Literal["text", "json"] = "text"
    log_level: str = "INFO"

    executor: Literal["local", "ray"] = "local"
    workers: int = Field(default=2, ge=1, le=256, description="Local worker processes.")
    ray_address: str = ""
    training_gpus: float = Field(default=0.0, ge=0)
    training_device: Literal["auto", "cpu", "cuda", "mps"] = "auto"
    cancel_grace_seconds: float = Field(default=2.0, ge=0)
    progress_min_interval: float = Field(
        default=0.25, ge=0, description="Seconds between two progress writes of one operation."
    )

    agent_poll_interval: float = Field(default=1.0, gt=0)
    agent_max_concurrent_researches: int = Field(default=1, ge=1)
    agent_designer: Literal["offline", "anthropic", "openai"] = "offline"
    agent_assessor: Literal["offline", "anthropic", "openai"] = "offline"
    agent_model: str | None = None
    agent_max_turns: int = Field(default=6, ge=1)
    agent_daily_budget: float = Field(default=0.0, ge=0, description="USD per day; 0 = unlimited.")
    agent_seed: int = 42

    training_gate_min_accuracy: float = Field(
        default=0.40, validation_alias=_gate_env("TRAINING_GATE_MIN_ACCURACY")
    )
    training_gate_max_loss: float = Field(
        default=1.00, validation_alias=_gate_env("TRAINING_GATE_MAX_LOSS")
    )
    training_gate_min_loss_decrease: float = Field(
        default=0.05, validation_alias=_gate_env("TRAINING_GATE_MIN_LOSS_DECREASE")
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
