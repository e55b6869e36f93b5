"""Strategy schema, the one validator, load/save and the indicator and membership catalogues.

Build strategies only through ``validate_strategy`` (or ``load_strategy`` /
``parse_strategy_yaml``, which call it); indicator and membership metadata live in
``ktrdr.strategy.indicator_specs`` and ``ktrdr.strategy.membership_specs``, and what other
packages need of them is exported here.
"""

from __future__ import annotations

from ktrdr.strategy.catalog import StrategyCatalog, StrategySummary, check_strategy_name
from ktrdr.strategy.indicator_specs import (
    TALIB_PREFIX,
    IndicatorSpec,
    ParamSpec,
    get_indicator_spec,
    is_talib_spec,
    list_indicator_specs,
    resolve_indicator_params,
    warmup_bars,
)
from ktrdr.strategy.io import (
    MAX_ALIASES,
    MAX_DOCUMENT_BYTES,
    dump_strategy_yaml,
    load_strategy,
    parse_strategy_yaml,
    save_strategy,
)
from ktrdr.strategy.membership_specs import check_membership
from ktrdr.strategy.schema import (
    MAX_SEED,
    TIMEFRAME_MINUTES,
    BacktestConfig,
    Costs,
    DataSplit,
    DateRange,
    Decisions,
    EvaluationConfig,
    Exits,
    ForwardReturnLabels,
    FuzzyInput,
    FuzzySet,
    IndicatorConfig,
    MembershipFunction,
    MlpArchitecture,
    MlpModel,
    ModelConfig,
    RawInput,
    RecurrentArchitecture,
    RecurrentModel,
    Sizing,
    StrategyConfig,
    TrainingConfig,
    TripleBarrierLabels,
    ZigzagLabels,
    split_indicator_reference,
    strategy_to_dict,
)
from ktrdr.strategy.validator import validate_strategy

__all__ = [
    "MAX_ALIASES",
    "MAX_DOCUMENT_BYTES",
    "MAX_SEED",
    "TALIB_PREFIX",
    "TIMEFRAME_MINUTES",
    "BacktestConfig",
    "Costs",
    "DataSplit",
    "DateRange",
    "Decisions",
    "EvaluationConfig",
    "Exits",
    "ForwardReturnLabels",
    "FuzzyInput",
    "FuzzySet",
    "IndicatorConfig",
    "IndicatorSpec",
    "MembershipFunction",
    "MlpArchitecture",
    "MlpModel",
    "ModelConfig",
    "ParamSpec",
    "RawInput",
    "RecurrentArchitecture",
    "RecurrentModel",
    "Sizing",
    "StrategyCatalog",
    "StrategyConfig",
    "StrategySummary",
    "TrainingConfig",
    "TripleBarrierLabels",
    "ZigzagLabels",
    "check_membership",
    "check_strategy_name",
    "dump_strategy_yaml",
    "get_indicator_spec",
    "is_talib_spec",
    "list_indicator_specs",
    "load_strategy",
    "parse_strategy_yaml",
    "resolve_indicator_params",
    "save_strategy",
    "split_indicator_reference",
    "strategy_to_dict",
    "validate_strategy",
    "warmup_bars",
]
