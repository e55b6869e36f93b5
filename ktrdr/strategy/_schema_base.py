"""Shared pieces of the strategy schema: the strict base model, timeframes, error helper."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict
from pydantic_core import PydanticCustomError

NAME_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$"
SYMBOL_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._-]{0,31}$"

# Timeframe -> minutes; the order is from the shortest to the longest.
TIMEFRAME_MINUTES: dict[str, int] = {
    "1m": 1,
    "5m": 5,
    "15m": 15,
    "30m": 30,
    "1h": 60,
    "2h": 120,
    "4h": 240,
    "1d": 1440,
    "1w": 10080,
}
Timeframe = Literal["1m", "5m", "15m", "30m", "1h", "2h", "4h", "1d", "1w"]


def invalid(message: str) -> PydanticCustomError:
    """A validation error whose text is ``message`` verbatim (braces included)."""
    return PydanticCustomError("strategy_invalid", "{message}", {"message": message})


class StrictModel(BaseModel):
    """Base of every section: unknown keys are errors, NaN and infinity are refused."""

    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)


def require_unique(values: list[str], what: str) -> list[str]:
    """Return ``values`` if no entry repeats, else raise a validation error naming repeats."""
    duplicates = sorted({v for v in values if values.count(v) > 1})
    if duplicates:
        raise invalid(f"each {what} may appear once; repeated: {', '.join(duplicates)}")
    return values
