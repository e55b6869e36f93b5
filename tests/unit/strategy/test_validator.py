"""The one validator: each kind of problem is reported at the exact path, all at once."""

from __future__ import annotations

import pytest

from ktrdr.errors import StrategyValidationError, ValidationError
from ktrdr.strategy import (
    FuzzyInput,
    MembershipFunction,
    RawInput,
    StrategyConfig,
    split_indicator_reference,
    strategy_to_dict,
    validate_strategy,
)


def _set(data: dict, path: str, value) -> None:
    keys = [int(key) if key.isdigit() else key for key in path.split("/")]
    for key in keys[:-1]:
        data = data[key]
    data[keys[-1]] = value


ERROR_CASES = [
    ("indicators/rsi_14/type", "rsx", "indicators.rsi_14.type", "unknown indicator type 'rsx'"),
    ("indicators/rsi_14/type", "zigzag", "indicators.rsi_14.type", "peeks into the future"),
    ("indicators/rsi_14/lenght", 14, "indicators.rsi_14.lenght", "unknown parameter"),
    ("indicators/rsi_14/period", 1, "indicators.rsi_14.period", "between 2 and 500"),
    (
        "fuzzy_sets/rsi_zone/indicator",
        "rsi_15",
        "fuzzy_sets.rsi_zone.indicator",
        "'rsi_15' is not defined; defined indicators: rsi_14, macd_std",
    ),
    (
        "fuzzy_sets/rsi_zone/indicator",
        "macd_std",
        "fuzzy_sets.rsi_zone.indicator",
        "macd_std.line, macd_std.signal, macd_std.histogram",
    ),
    (
        "fuzzy_sets/rsi_zone/indicator",
        "macd_std.hist",
        "fuzzy_sets.rsi_zone.indicator",
        "no output 'hist'",
    ),
    ("fuzzy_sets/rsi_zone/indicator", "rsi_14.value", "fuzzy_sets.rsi_zone.indicator", "single"),
    (
        "fuzzy_sets/rsi_zone/overbought",
        {"type": "gaussian", "parameters": [75, 8, 1, 2]},
        "fuzzy_sets.rsi_zone.overbought.parameters",
        "gaussian takes 2 parameters [mean, sigma], got 4",
    ),
    (
        "fuzzy_sets/rsi_zone/overbought",
        {"type": "triangular", "parameters": [80, 65, 100]},
        "fuzzy_sets.rsi_zone.overbought.parameters",
        "a <= b <= c",
    ),
    (
        "fuzzy_sets/rsi_zone/overbought",
        {"type": "bell", "parameters": [1, 2]},
        "fuzzy_sets.rsi_zone.overbought.type",
        "unknown membership type 'bell'",
    ),
    ("fuzzy_sets/rsi_zone/overbought", [1, 2], "fuzzy_sets.rsi_zone.overbought", "3 numbers"),
    ("colour", "blue", "colour", "unknown key 'colour'; allowed keys: name,"),
    ("training/data_split/trian", 0.7, "training.data_split.trian", "allowed keys: train,"),
    ("name", "../x", "name", "'../x' is not allowed"),
    ("name", "a" * 65, "name", "is not allowed"),
    (
        "model/architecture/hidden_size",
        32,
        "model.architecture.hidden_size",
        "allowed keys: hidden_layers, dropout, activation",
    ),
    ("model/type", "cnn", "model.type", "'cnn' is not allowed; allowed: 'mlp', 'lstm', 'gru'"),
    ("model/architecture/dropout", 1.0, "model.architecture.dropout", "less than 1"),
    ("model/architecture/activation", "swish", "model.architecture.activation", "'relu'"),
    ("model/lookback", 0, "model.lookback", "greater than or equal to 1"),
    ("training/data_split/train", 0.8, "training.data_split", "must sum to 1, got 1.1"),
    ("training/labels", {"source": "zigzag"}, "training.labels.zigzag_threshold", "required"),
    ("training/labels", {"source": "oracle"}, "training.labels.source", "'oracle'"),
    ("training/learning_rate", float("nan"), "training.learning_rate", "finite"),
    ("decisions/confidence_threshold", 0, "decisions.confidence_threshold", "got 0"),
    ("decisions/filters/min_signal_separation", -1, "decisions.filters.min_signal_separation", ""),
    ("backtest/costs/commission_bps", -1.0, "backtest.costs.commission_bps", ""),
    ("training_data/symbols", "EURUSD", "training_data.symbols", "got 'EURUSD'"),
    ("training_data/timeframes/timeframe", "3h", "training_data.timeframes.timeframe", "'1h'"),
    (
        "training_data/date_range",
        {"start": "2018-01-01", "end": "2017-01-01"},
        "training_data.date_range.end",
        "must be after start",
    ),
    (
        "backtest/date_range",
        {"start": "2017-10-01", "end": "2017-11-30"},
        "backtest.date_range.start",
        "before the training range ends",
    ),
    (
        "nn_inputs/0/fuzzy_set",
        "rsi_zones",
        "nn_inputs.0.fuzzy_set",
        "'rsi_zones' is not defined; defined fuzzy sets: rsi_zone",
    ),
    ("nn_inputs/1/raw_indicator", "macd_std", "nn_inputs.1.raw_indicator", "several outputs"),
    ("nn_inputs/1/timeframes", ["4h"], "nn_inputs.1.timeframes", "4h are not among"),
    ("nn_inputs/1/timeframes", "4h", "nn_inputs.1.timeframes", "'all' or a non-empty list"),
    ("nn_inputs/1/normalization", "robust", "nn_inputs.1.normalization", "'zscore'"),
    ("nn_inputs/1", {"indicator": "rsi_14"}, "nn_inputs.1", "fuzzy_set or a raw_indicator"),
    ("nn_inputs", [], "nn_inputs", "at least 1"),
    ("evaluation", {"folds": -1}, "evaluation.folds", "greater than or equal to 0"),
    ("evaluation", {"folds": 51}, "evaluation.folds", "less than or equal to 50"),
    ("evaluation", {"scheme": "expanding"}, "evaluation.scheme", "'anchored' or 'rolling'"),
    ("evaluation", {"seeds": 0}, "evaluation.seeds", "greater than or equal to 1"),
    ("evaluation", {"min_train_fraction": 1.0}, "evaluation.min_train_fraction", "less than 1"),
    ("evaluation", {"holdout": 0.2}, "evaluation.holdout", "unknown key"),
]


@pytest.mark.parametrize(
    ("where", "value", "path", "text"), ERROR_CASES, ids=[c[2] for c in ERROR_CASES]
)
def test_error_is_reported_at_its_exact_path(strategy_data, issues_of, where, value, path, text):
    _set(strategy_data, where, value)
    issues = issues_of(strategy_data)
    assert [issue["path"] for issue in issues] == [path]
    assert text in issues[0]["message"]


def test_multi_timeframe_errors(strategy_data, issue_paths):
    timeframes = {"mode": "multi_timeframe", "list": ["1h", "4h"], "base_timeframe": "1d"}
    strategy_data["training_data"]["timeframes"] = timeframes
    assert issue_paths(strategy_data) == ["training_data.timeframes.base_timeframe"]
    timeframes["base_timeframe"] = "4h"
    assert issue_paths(strategy_data) == ["training_data.timeframes.base_timeframe"]
    timeframes.update(base_timeframe="1h", list=["1h", "1h"])
    assert issue_paths(strategy_data) == ["training_data.timeframes.list"]


def test_repeated_input_on_the_same_timeframe_is_an_error(strategy_data, issues_of):
    strategy_data["nn_inputs"].append({"fuzzy_set": "rsi_zone", "timeframes": ["1h"]})
    (issue,) = issues_of(strategy_data)
    assert issue == {
        "path": "nn_inputs.2",
        "message": "repeats fuzzy set rsi_zone on 1h; see nn_inputs.0",
    }


def test_ids_that_would_break_feature_names_are_errors(strategy_data, issue_paths):
    strategy_data["indicators"]["rsi.fast"] = {"type": "rsi", "period": 7}
    strategy_data["fuzzy_sets"]["rsi_zone"]["too low"] = [0, 5, 10]
    assert issue_paths(strategy_data) == ["indicators.rsi.fast", "fuzzy_sets.rsi_zone.too low"]


def test_fuzzy_set_without_memberships_is_an_error(strategy_data, issue_paths):
    strategy_data["fuzzy_sets"]["rsi_zone"] = {"indicator": "rsi_14"}
    assert issue_paths(strategy_data) == ["fuzzy_sets.rsi_zone"]


def test_all_problems_are_collected_in_one_error(strategy_data):
    strategy_data["name"] = "bad name"
    strategy_data["indicators"]["rsi_14"]["type"] = "rsx"
    strategy_data["indicators"]["macd_std"]["fast"] = 5
    strategy_data["fuzzy_sets"]["rsi_zone"]["neutral"] = {"type": "gaussian", "parameters": [1]}
    strategy_data["model"]["architecture"]["layers"] = 3
    strategy_data["training"]["data_split"]["test"] = 0.5
    strategy_data["nn_inputs"].append({"fuzzy_set": "ghost"})
    with pytest.raises(StrategyValidationError) as caught:
        validate_strategy(strategy_data, source="mine.yaml")
    paths = [issue["path"] for issue in caught.value.issues]
    assert sorted(paths) == sorted(
        [
            "name",
            "indicators.rsi_14.type",
            "indicators.macd_std.fast",
            "fuzzy_sets.rsi_zone.neutral.parameters",
            "model.architecture.layers",
            "training.data_split",
            "nn_inputs.2.fuzzy_set",
        ]
    )
    assert caught.value.source == "mine.yaml"
    assert caught.value.message.startswith("mine.yaml: invalid strategy: ")
    assert caught.value.details == {"issues": caught.value.issues}
    assert isinstance(caught.value, ValidationError)


def test_reference_to_an_unknown_type_indicator_reports_only_the_type(strategy_data, issue_paths):
    strategy_data["indicators"]["macd_std"]["type"] = "macdd"
    assert issue_paths(strategy_data) == ["indicators.macd_std.type"]


def test_a_non_mapping_is_refused(issues_of):
    (issue,) = issues_of(["name", "x"])
    assert issue["path"] == ""
    assert "got list" in issue["message"]


def test_shorthand_memberships_expand_to_typed_functions(strategy_data):
    config = validate_strategy(strategy_data)
    memberships = config.fuzzy_sets["rsi_zone"].memberships
    assert list(memberships) == ["oversold", "neutral", "overbought"]
    assert memberships["neutral"] == MembershipFunction(
        type="triangular", parameters=[30.0, 50.0, 70.0]
    )
    strategy_data["fuzzy_sets"]["rsi_zone"]["neutral"] = [30, 45, 55, 70]
    config = validate_strategy(strategy_data)
    assert config.fuzzy_sets["rsi_zone"].memberships["neutral"].type == "trapezoidal"


def test_typed_access_and_defaults(strategy_data):
    del strategy_data["decisions"]
    del strategy_data["backtest"]
    strategy_data["nn_inputs"][1] = {"raw_indicator": "macd_std.histogram"}
    config = validate_strategy(strategy_data)
    assert isinstance(config, StrategyConfig)
    assert config.indicators["macd_std"].params == {
        "fast_period": 12,
        "slow_period": 26,
        "signal_period": 9,
    }
    assert isinstance(config.nn_inputs[0], FuzzyInput)
    assert config.nn_inputs[1] == RawInput(
        raw_indicator="macd_std.histogram", timeframes="all", normalization="zscore"
    )
    assert config.decisions.confidence_threshold == 0.5
    assert config.backtest is None
    assert split_indicator_reference("macd_std.histogram") == ("macd_std", "histogram")
    assert split_indicator_reference("rsi_14") == ("rsi_14", None)


def test_evaluation_defaults_to_four_anchored_folds_and_three_seeds(strategy_data):
    strategy_data.pop("evaluation", None)
    evaluation = validate_strategy(strategy_data).evaluation
    assert (evaluation.folds, evaluation.scheme, evaluation.seeds) == (4, "anchored", 3)
    assert evaluation.min_train_fraction == 0.5 and evaluation.walk_forward


def test_zero_folds_is_the_single_split_with_one_seed_unless_told(strategy_data):
    strategy_data["evaluation"] = {"folds": 0}
    single = validate_strategy(strategy_data).evaluation
    assert (single.walk_forward, single.seeds) == (False, 1)
    strategy_data["evaluation"] = {"folds": 0, "seeds": 5}
    assert validate_strategy(strategy_data).evaluation.seeds == 5
    # The section round-trips: its dump validates to the same section.
    again = {
        **strategy_data,
        "evaluation": strategy_to_dict(validate_strategy(strategy_data))["evaluation"],
    }
    assert validate_strategy(again).evaluation.seeds == 5


def test_multi_symbol_multi_timeframe_helpers(strategy_data):
    strategy_data["training_data"]["symbols"] = {"mode": "multi_symbol", "list": ["SP500", "X"]}
    strategy_data["training_data"]["timeframes"] = {
        "mode": "multi_timeframe",
        "list": ["4h", "1h"],
        "base_timeframe": "1h",
    }
    config = validate_strategy(strategy_data)
    assert config.symbols() == ["SP500", "X"]
    assert config.timeframes() == ["1h", "4h"]
    assert config.base_timeframe() == "1h"


def test_talib_indicators_validate_with_talib_parameter_names(strategy_data, issue_paths):
    strategy_data["indicators"]["kama"] = {"type": "talib.KAMA", "timeperiod": 30}
    strategy_data["nn_inputs"].append({"raw_indicator": "kama"})
    assert validate_strategy(strategy_data).indicators["kama"].params == {"timeperiod": 30}
    strategy_data["indicators"]["kama"] = {"type": "talib.KAMA", "period": 30}
    assert issue_paths(strategy_data) == ["indicators.kama.period"]


def test_free_form_fields_are_kept(strategy_data):
    strategy_data.update(version=3.0, scope="universal", deployment={"venue": "paper"})
    config = validate_strategy(strategy_data)
    assert (config.version, config.scope, config.deployment) == (
        "3.0",
        "universal",
        {"venue": "paper"},
    )


def test_list_keys_are_spelled_list_only(strategy_data, issue_paths):
    strategy_data["training_data"]["symbols"] = {"mode": "multi_symbol", "symbols": ["A", "B"]}
    assert issue_paths(strategy_data) == [
        "training_data.symbols.list",
        "training_data.symbols.symbols",
    ]
