"""The ``training_data`` section: symbols, timeframes and date range."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Literal

from pydantic import Field, ValidationInfo, field_validator

from ktrdr.strategy._schema_base import (
    SYMBOL_PATTERN,
    TIMEFRAME_MINUTES,
    StrictModel,
    Timeframe,
    invalid,
    require_unique,
)


class DateRange(StrictModel):
    """A calendar-date range, both ends inclusive, e.g. 2017-04-19 .. 2017-12-31 (UTC)."""

    start: dt.date
    end: dt.date

    @field_validator("end")
    @classmethod
    def _end_after_start(cls, end: dt.date, info: ValidationInfo) -> dt.date:
        start = info.data.get("start")
        if start is not None and end <= start:
            raise invalid(f"end {end} must be after start {start}")
        return end


Symbol = Annotated[str, Field(pattern=SYMBOL_PATTERN)]


class SingleSymbol(StrictModel):
    """Train on one symbol: ``{mode: single, symbol: EURUSD}``."""

    mode: Literal["single"]
    symbol: Symbol


class MultiSymbol(StrictModel):
    """Train on several symbols, pooled: ``{mode: multi_symbol, list: [SP500, NASDAQ]}``."""

    mode: Literal["multi_symbol"]
    symbols: list[Symbol] = Field(alias="list", min_length=1)

    @field_validator("symbols")
    @classmethod
    def _unique(cls, symbols: list[str]) -> list[str]:
        return require_unique(symbols, "symbol")


class SingleTimeframe(StrictModel):
    """Use one timeframe: ``{mode: single, timeframe: 1h}``."""

    mode: Literal["single"]
    timeframe: Timeframe


class MultiTimeframe(StrictModel):
    """Use several timeframes joined on the base (shortest) one: ``list: [1h, 4h], base 1h``."""

    mode: Literal["multi_timeframe"]
    timeframes: list[Timeframe] = Field(alias="list", min_length=1)
    base_timeframe: Timeframe

    @field_validator("timeframes")
    @classmethod
    def _unique(cls, timeframes: list[str]) -> list[str]:
        return require_unique(timeframes, "timeframe")

    @field_validator("base_timeframe")
    @classmethod
    def _base_is_shortest(cls, base: str, info: ValidationInfo) -> str:
        timeframes = info.data.get("timeframes")
        if timeframes is None:
            return base
        if base not in timeframes:
            raise invalid(f"base_timeframe {base} is not in list [{', '.join(timeframes)}]")
        shortest = min(timeframes, key=TIMEFRAME_MINUTES.__getitem__)
        if base != shortest:
            raise invalid(
                f"base_timeframe must be the shortest timeframe in list ({shortest}), got {base}"
            )
        return base


SymbolSelection = Annotated[SingleSymbol | MultiSymbol, Field(discriminator="mode")]
TimeframeSelection = Annotated[SingleTimeframe | MultiTimeframe, Field(discriminator="mode")]


class TrainingData(StrictModel):
    """Which market data to train on."""

    symbols: SymbolSelection
    timeframes: TimeframeSelection
    date_range: DateRange | None = None
