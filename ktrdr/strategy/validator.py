"""The one strategy validator: shape, types, ranges and references, all problems at once."""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping
from typing import Any

from pydantic import ValidationError as PydanticValidationError

from ktrdr.errors import StrategyValidationError, ValidationError
from ktrdr.strategy._issues import Issue, issue, issues_from_pydantic
from ktrdr.strategy.indicator_specs import check_indicator_params, get_indicator_spec
from ktrdr.strategy.schema import (
    TIMEFRAME_MINUTES,
    StrategyConfig,
    split_indicator_reference,
    strategy_to_dict,
)

logger = logging.getLogger(__name__)

# Indicator, fuzzy-set and membership ids become parts of feature names such as
# "1h_rsi_zone_oversold", and '.' separates an indicator from its output.
ID_PATTERN = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,63}$")
ID_RULE = "use letters, digits and '_' (at most 64), starting with a letter or '_'"


def validate_strategy(
    data: Mapping[str, Any] | StrategyConfig, *, source: str | None = None
) -> StrategyConfig:
    """Validate a strategy and return it typed; raise StrategyValidationError listing every issue.

    ``source`` (a file name, "designer", ...) prefixes the error message.
    """
    if isinstance(data, StrategyConfig):
        data = strategy_to_dict(data)
    if not isinstance(data, Mapping):
        found = type(data).__name__
        raise StrategyValidationError(
            [issue("", f"a strategy is a mapping of keys to values, got {found}")], source=source
        )
    issues: list[Issue] = []
    config: StrategyConfig | None = None
    try:
        config = StrategyConfig.model_validate(dict(data))
    except PydanticValidationError as exc:
        issues.extend(issues_from_pydantic(exc.errors(include_url=False)))
    issues.extend(i for i in reference_issues(data) if not _covered(i, issues))
    if config is not None:
        issues.extend(_range_issues(config))
        issues.extend(_exit_issues(config))
    if issues:
        logger.debug("strategy %s rejected with %d issue(s)", source or "<data>", len(issues))
        raise StrategyValidationError(issues, source=source)
    return config


def reference_issues(data: Mapping[str, Any]) -> list[Issue]:
    """Check indicator types and parameters and every reference between sections."""
    issues: list[Issue] = []
    outputs = _check_indicators(_mapping(data.get("indicators")), issues)
    fuzzy_sets = _mapping(data.get("fuzzy_sets"))
    _check_fuzzy_sets(fuzzy_sets, outputs, issues)
    nn_inputs = data.get("nn_inputs")
    if isinstance(nn_inputs, list):
        timeframes = _strategy_timeframes(data.get("training_data"))
        _check_nn_inputs(nn_inputs, list(fuzzy_sets), outputs, timeframes, issues)
    return issues


def _mapping(value: Any) -> Mapping[Any, Any]:
    return value if isinstance(value, Mapping) else {}


def _covered(candidate: Issue, issues: list[Issue]) -> bool:
    """True when pydantic already reported this field or a field that contains it."""
    path = candidate["path"]
    return any(path == i["path"] or path.startswith(i["path"] + ".") for i in issues)


def _check_id(key: Any, path: str, what: str, issues: list[Issue]) -> None:
    if not isinstance(key, str) or not ID_PATTERN.fullmatch(key):
        issues.append(issue(path, f"{what} id {key!r} is not allowed: {ID_RULE}"))


def _check_indicators(
    indicators: Mapping[Any, Any], issues: list[Issue]
) -> dict[str, tuple[str, ...] | None]:
    """Check each indicator; return id -> output names (None when its type is unknown)."""
    outputs: dict[str, tuple[str, ...] | None] = {}
    for key, entry in indicators.items():
        path = f"indicators.{key}"
        _check_id(key, path, "indicator", issues)
        outputs[str(key)] = None
        type_name = entry.get("type") if isinstance(entry, Mapping) else None
        if not isinstance(type_name, str):
            continue
        try:
            spec = get_indicator_spec(type_name)
        except ValidationError as exc:
            issues.append(issue(f"{path}.type", exc.message))
            continue
        params = {name: value for name, value in entry.items() if name != "type"}
        for name, message in check_indicator_params(type_name, params):
            issues.append(issue(f"{path}.{name}", message))
        outputs[str(key)] = spec.outputs
    return outputs


def reference_problem(reference: str, outputs: Mapping[str, tuple[str, ...] | None]) -> str | None:
    """Why ``"macd_std.histogram"`` does not name an indicator output, or None when it does."""
    base, output = split_indicator_reference(reference)
    if base not in outputs:
        defined = ", ".join(outputs) or "none"
        return f"indicator {base!r} is not defined; defined indicators: {defined}"
    known = outputs[base]
    if known is None:
        return None
    if not known and output:
        return f"indicator {base!r} has a single output; refer to it as {base!r}, not {reference!r}"
    if known and not output:
        choices = ", ".join(f"{base}.{name}" for name in known)
        return f"indicator {base!r} has several outputs; name one: {choices}"
    if known and output not in known:
        choices = ", ".join(f"{base}.{name}" for name in known)
        return f"indicator {base!r} has no output {output!r}; outputs: {choices}"
    return None


def _check_fuzzy_sets(
    fuzzy_sets: Mapping[Any, Any],
    outputs: Mapping[str, tuple[str, ...] | None],
    issues: list[Issue],
) -> None:
    for key, entry in fuzzy_sets.items():
        path = f"fuzzy_sets.{key}"
        _check_id(key, path, "fuzzy set", issues)
        if not isinstance(entry, Mapping):
            continue
        reference = entry.get("indicator")
        if isinstance(reference, str):
            problem = reference_problem(reference, outputs)
            if problem:
                issues.append(issue(f"{path}.indicator", problem))
        memberships = [name for name in entry if name != "indicator"]
        if not memberships:
            issues.append(
                issue(path, "a fuzzy set needs at least one membership, e.g. low: [0, 20, 40]")
            )
        for name in memberships:
            _check_id(name, f"{path}.{name}", "membership", issues)


def _strategy_timeframes(training_data: Any) -> set[str] | None:
    """The strategy's timeframes, or None when that section is malformed (reported elsewhere)."""
    selection = _mapping(_mapping(training_data).get("timeframes"))
    mode = selection.get("mode")
    listed = [selection.get("timeframe")] if mode == "single" else selection.get("list")
    if mode not in ("single", "multi_timeframe") or not isinstance(listed, list):
        return None
    known = all(isinstance(tf, str) and tf in TIMEFRAME_MINUTES for tf in listed)
    return set(listed) if known else None


def _check_nn_inputs(
    nn_inputs: list[Any],
    fuzzy_set_ids: list[Any],
    outputs: Mapping[str, tuple[str, ...] | None],
    timeframes: set[str] | None,
    issues: list[Issue],
) -> None:
    first_use: dict[tuple[str, str], int] = {}
    for index, item in enumerate(nn_inputs):
        if not isinstance(item, Mapping):
            continue
        path = f"nn_inputs.{index}"
        source = _check_input_source(item, path, fuzzy_set_ids, outputs, issues)
        if timeframes is None:
            continue
        selected = item.get("timeframes", "all")
        used = timeframes if selected == "all" else selected
        if not isinstance(used, list | set):
            continue
        outside = [tf for tf in used if not isinstance(tf, str) or tf not in timeframes]
        if outside:
            issues.append(
                issue(
                    f"{path}.timeframes",
                    f"timeframe(s) {', '.join(map(str, outside))} are not among the "
                    f"strategy's timeframes ({', '.join(sorted(timeframes))})",
                )
            )
        repeated = [tf for tf in sorted(map(str, used)) if (source, tf) in first_use]
        if source is not None and repeated:
            first = first_use[(source, repeated[0])]
            issues.append(issue(path, f"repeats {source} on {repeated[0]}; see nn_inputs.{first}"))
        for timeframe in used if source is not None else ():
            first_use.setdefault((source, str(timeframe)), index)


def _check_input_source(
    item: Mapping[Any, Any],
    path: str,
    fuzzy_set_ids: list[Any],
    outputs: Mapping[str, tuple[str, ...] | None],
    issues: list[Issue],
) -> str | None:
    """Check what an input reads; return a key naming it (for duplicate detection)."""
    fuzzy_set = item.get("fuzzy_set")
    if isinstance(fuzzy_set, str):
        if fuzzy_set not in fuzzy_set_ids:
            defined = ", ".join(map(str, fuzzy_set_ids)) or "none"
            issues.append(
                issue(
                    f"{path}.fuzzy_set",
                    f"fuzzy set {fuzzy_set!r} is not defined; defined fuzzy sets: {defined}",
                )
            )
        return f"fuzzy set {fuzzy_set}"
    raw = item.get("raw_indicator")
    if isinstance(raw, str):
        problem = reference_problem(raw, outputs)
        if problem:
            issues.append(issue(f"{path}.raw_indicator", problem))
        return f"raw indicator {raw}"
    return None


def _range_issues(config: StrategyConfig) -> list[Issue]:
    """The backtest must start after the training range ends (DESIGN §8)."""
    training = config.training_data.date_range
    backtest = config.backtest.date_range if config.backtest else None
    if training is None or backtest is None or backtest.start > training.end:
        return []
    return [
        issue(
            "backtest.date_range.start",
            f"the backtest starts {backtest.start}, before the training range ends "
            f"({training.end}); backtest on later data the model did not train on",
        )
    ]


def _exit_issues(config: StrategyConfig) -> list[Issue]:
    """Exits ``from_labels`` need triple-barrier labels: their barriers become the exits."""
    exits = config.decisions.exits
    labels = config.training.labels
    if exits is None or not exits.from_labels or labels.source == "triple_barrier":
        return []
    return [
        issue(
            "decisions.exits.from_labels",
            f"from_labels takes the stop loss and take profit from triple-barrier labels, but "
            f"training.labels.source is {labels.source!r}; use source triple_barrier or give "
            "stop_loss/take_profit as fractions (0.02 = 2 %)",
        )
    ]
