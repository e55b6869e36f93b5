"""Pydantic models of the v3 strategy format (DESIGN §7).

The models check shape, types, ranges and unknown keys. Checks that span sections (indicator
types and parameters, references between indicators, fuzzy sets and inputs) live in
``ktrdr.strategy.validator``; build a ``StrategyConfig`` only through ``validate_strategy``.
"""

from __future__ import annotations

import re
from typing import Any

from pydantic import Field, JsonValue, field_validator

from ktrdr.strategy._data_section import (
    DateRange,
    MultiSymbol,
    MultiTimeframe,
    SingleSymbol,
    SingleTimeframe,
    TrainingData,
)
from ktrdr.strategy._evaluation_section import EvaluationConfig
from ktrdr.strategy._execution_section import (
    Costs,
    Exits,
    Sizing,
    SymbolCosts,
    VolatilityTargetSizing,
)
from ktrdr.strategy._feature_section import (
    FuzzyInput,
    FuzzySet,
    IndicatorConfig,
    MembershipFunction,
    NnInput,
    RawInput,
)
from ktrdr.strategy._schema_base import (
    NAME_PATTERN,
    TIMEFRAME_MINUTES,
    StrictModel,
    Timeframe,
    invalid,
)
from ktrdr.strategy._training_section import (
    MAX_SEED,
    BacktestConfig,
    DataSplit,
    DecisionFilters,
    Decisions,
    EarlyStopping,
    ForwardReturnLabels,
    LabelConfig,
    MlpArchitecture,
    MlpModel,
    ModelConfig,
    RecurrentArchitecture,
    RecurrentModel,
    TrainingConfig,
    TripleBarrierLabels,
    ZigzagLabels,
)

__all__ = [
    "MAX_SEED",
    "NAME_PATTERN",
    "TIMEFRAME_MINUTES",
    "BacktestConfig",
    "Costs",
    "DataSplit",
    "DateRange",
    "DecisionFilters",
    "Decisions",
    "EarlyStopping",
    "EvaluationConfig",
    "Exits",
    "ForwardReturnLabels",
    "FuzzyInput",
    "FuzzySet",
    "IndicatorConfig",
    "LabelConfig",
    "MembershipFunction",
    "MlpArchitecture",
    "MlpModel",
    "ModelConfig",
    "MultiSymbol",
    "MultiTimeframe",
    "NnInput",
    "RawInput",
    "RecurrentArchitecture",
    "RecurrentModel",
    "SingleSymbol",
    "SingleTimeframe",
    "Sizing",
    "StrategyConfig",
    "SymbolCosts",
    "Timeframe",
    "TrainingConfig",
    "TrainingData",
    "TripleBarrierLabels",
    "VolatilityTargetSizing",
    "ZigzagLabels",
    "split_indicator_reference",
    "strategy_to_dict",
]


class StrategyConfig(StrictModel):
    """A validated v3 strategy; build it with ``validate_strategy``."""

    name: str
    version: str | None = None
    description: str | None = None
    hypothesis: str | None = None
    tags: list[str] = Field(default_factory=list)
    author: str | None = None
    scope: JsonValue = None
    deployment: JsonValue = None
    training_data: TrainingData
    indicators: dict[str, IndicatorConfig] = Field(min_length=1)
    fuzzy_sets: dict[str, FuzzySet] = Field(default_factory=dict)
    nn_inputs: list[NnInput] = Field(min_length=1)
    model: ModelConfig
    decisions: Decisions = Field(default_factory=Decisions)
    training: TrainingConfig
    backtest: BacktestConfig | None = None
    evaluation: EvaluationConfig = Field(default_factory=EvaluationConfig)

    @field_validator("name")
    @classmethod
    def _name_rule(cls, name: str) -> str:
        if not re.fullmatch(NAME_PATTERN, name):
            raise invalid(
                f"name {name!r} is not allowed: use 1-64 letters, digits, '_' or '-', "
                "starting with a letter or digit (it is also the file name)"
            )
        return name

    @field_validator("version", mode="before")
    @classmethod
    def _version_as_text(cls, version: Any) -> Any:
        return str(version) if isinstance(version, int | float) else version

    def symbols(self) -> list[str]:
        """The symbols to train on, e.g. ``["SP500", "NASDAQ"]``."""
        selection = self.training_data.symbols
        return (
            [selection.symbol] if isinstance(selection, SingleSymbol) else list(selection.symbols)
        )

    def timeframes(self) -> list[str]:
        """The timeframes used, shortest first, e.g. ``["1h", "4h"]``."""
        selection = self.training_data.timeframes
        if isinstance(selection, SingleTimeframe):
            return [selection.timeframe]
        return sorted(selection.timeframes, key=TIMEFRAME_MINUTES.__getitem__)

    def base_timeframe(self) -> str:
        """The timeframe whose bars are the sample grid, e.g. ``"1h"``."""
        selection = self.training_data.timeframes
        if isinstance(selection, SingleTimeframe):
            return selection.timeframe
        return selection.base_timeframe


def strategy_to_dict(config: StrategyConfig) -> dict[str, Any]:
    """The strategy as plain YAML/JSON data (dates as ISO text, unset optional keys left out)."""
    return config.model_dump(mode="json", by_alias=True, exclude_none=True)


def split_indicator_reference(reference: str) -> tuple[str, str | None]:
    """Split ``"macd_std.histogram"`` into ``("macd_std", "histogram")``; ``"rsi_14"`` has none."""
    indicator_id, _, output = reference.partition(".")
    return indicator_id, output or None
