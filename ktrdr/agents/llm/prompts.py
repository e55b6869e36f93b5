"""Compact prompt parts: strategy format, indicator catalogue, past experiments.

Texts built from data, memory or errors go through a ``PromptGuard`` (``blinding.py``) before
they reach a model.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

from ktrdr.agents.memory import WALK_FORWARD, ExperimentRecord, summarize_experiments
from ktrdr.strategy import IndicatorSpec, ParamSpec, StrategyConfig, list_indicator_specs

PAST_EXPERIMENTS = 20
_DROPPED_PROPERTIES = ("scope", "deployment", "author", "version")
_DROPPED_DEFINITIONS = ("JsonValue", "DateRange")
_DATED_SECTIONS = ("TrainingData", "BacktestConfig")

STRATEGY_FORMAT = """\
A strategy is one JSON object (the save_strategy_config input):
- name: ^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$, new and descriptive; description, hypothesis and
  tags are optional.
- training_data: symbols {mode: single, symbol: S} with S the market named under Market (or
  leave symbols out); timeframes {mode: single, timeframe: 1h} or {mode: multi_timeframe,
  list: [1h, 4h], base_timeframe: 1h}. Leave date_range out: the system trains and evaluates
  on the market's research window and writes the real data set into the strategy.
- indicators: id -> {type: <catalogue name>, <param>: value, ...}; ids use letters, digits, _.
- fuzzy_sets: id -> {indicator: <indicator id or id.output>, <membership>: {type: triangular|
  trapezoidal|gaussian|sigmoid, parameters: [...]}}; triangular [a<=b<=c], trapezoidal
  [a<=b<=c<=d], gaussian [mean, sigma>0], sigmoid [center, slope]. Place them on the
  indicator's real value range (RSI 0-100, MACD histogram around 0 in price units).
- nn_inputs: list of {fuzzy_set: id, timeframes: all} or {raw_indicator: id[.output],
  timeframes: [tf], normalization: zscore|minmax|none}.
- model: {type: mlp, architecture: {hidden_layers: [32, 16], dropout: 0.2, activation: relu},
  lookback: 1} or {type: lstm|gru, architecture: {hidden_size, num_layers, dropout}, lookback: 24}.
- decisions: {output_format: classification, confidence_threshold: 0.34-0.9,
  allow_short_from_flat: true, filters: {min_signal_separation: 4}}.
- training: labels {source: zigzag, zigzag_threshold: 0.004} | {source: triple_barrier,
  pt_multiplier, sl_multiplier, max_holding_period, vol_span} | {source: forward_return,
  horizon}; data_split {train: 0.7, validation: 0.15, test: 0.15}; epochs; learning_rate;
  batch_size; early_stopping {patience}.
- backtest (optional): {costs: {commission_bps: 1.0, slippage_bps: 0.5}}, no date_range.
The system evaluates every design walk-forward: folds trained on what precedes each
out-of-sample slice of the research window. Classes are sell/hold/buy; features never look
ahead. zigzag is a label source, never an indicator."""


def strategy_tool_schema(scrub: Callable[[str], str] | None = None) -> dict[str, Any]:
    """The strategy model's JSON Schema, trimmed of titles and of keys a designer never sets.

    Date ranges are the system's (it owns the data windows), so they are not offered; ``scrub``
    (e.g. ``PromptGuard.text``) rewrites every text of the schema, whose examples name symbols.
    """
    schema = copy.deepcopy(StrategyConfig.model_json_schema())
    for key in _DROPPED_PROPERTIES:
        schema["properties"].pop(key, None)
    definitions = schema.get("$defs", {})
    for name in _DROPPED_DEFINITIONS:
        definitions.pop(name, None)
    for section in _DATED_SECTIONS:
        definitions.get(section, {}).get("properties", {}).pop("date_range", None)
    schema = _without_titles(schema)
    return _texts(schema, scrub) if scrub else schema


def indicator_catalogue(specs: Iterable[IndicatorSpec] | None = None) -> str:
    """One line per indicator: ``rsi: period:int=14 [2..500]; source=close {..} -> value``."""
    lines = [_indicator_line(spec) for spec in (specs or list_indicator_specs())]
    lines.append("Any TA-Lib function also works as talib.<NAME> with TA-Lib's parameter names.")
    return "\n".join(lines)


def experiments_summary(records: Sequence[ExperimentRecord], limit: int = PAST_EXPERIMENTS) -> str:
    """Past walk-forward experiments, newest first: what was tried, metrics, gates, verdicts.

    Single-window records (measured before the evaluation protocol) are left out. The row
    fields are the fixed ones of ``summarize_experiments``; the strategy's ingredients are
    named one by one, never its data range.
    """
    records = [record for record in records if record.protocol == WALK_FORWARD]
    if not records:
        return "No experiments yet."
    rows = summarize_experiments(records, limit=limit)
    return "\n".join(
        f"- {_outcome(row)} | {_ingredients(record.strategy)}"
        for row, record in zip(rows, records, strict=False)
    )


def _outcome(row: Mapping[str, Any]) -> str:
    metrics = ", ".join(
        f"{key} {row[key]}"
        for key in ("test_accuracy", "sharpe_ratio", "total_return", "win_rate", "total_trades")
        if row.get(key) is not None
    )
    gates = "; ".join(f"{gate}: {reason}" for gate, reason in (row.get("gates") or {}).items())
    parts = [f"{row['strategy_name']} [{row['status']}]", metrics, gates]
    if row.get("verdict"):
        parts.append(f"verdict {row['verdict']}")
    if row.get("error"):
        parts.append(f"error {row['error'][:160]}")
    return "; ".join(part for part in parts if part)


def _ingredients(strategy: Mapping[str, Any]) -> str:
    if not strategy:
        return "strategy unknown"
    indicators = ", ".join(
        f"{values.get('type')}({', '.join(f'{k}={v}' for k, v in values.items() if k != 'type')})"
        for values in (strategy.get("indicators") or {}).values()
        if isinstance(values, Mapping)
    )
    model = strategy.get("model") or {}
    training = strategy.get("training") or {}
    decisions = strategy.get("decisions") or {}
    labels = {k: v for k, v in (training.get("labels") or {}).items() if v is not None}
    return (
        f"inputs {indicators or '-'}; model {model.get('type')} {model.get('architecture')}; "
        f"labels {labels}; confidence {decisions.get('confidence_threshold')}"
    )


def _indicator_line(spec: IndicatorSpec) -> str:
    params = ", ".join(_param_text(param) for param in spec.params) or "no params"
    outputs = f" -> outputs {', '.join(spec.outputs)}" if spec.outputs else ""
    return f"{spec.name}: {params}{outputs}"


def _param_text(param: ParamSpec) -> str:
    text = f"{param.name}:{param.kind.__name__}={param.default}"
    if param.choices:
        text += " {" + "|".join(str(choice) for choice in param.choices) + "}"
    elif param.minimum is not None or param.maximum is not None:
        text += f" [{_number(param.minimum)}..{_number(param.maximum)}]"
    return text


def _number(value: float | None) -> str:
    if value is None:
        return ""
    return str(int(value)) if float(value).is_integer() else str(value)


def _texts(value: Any, scrub: Callable[[str], str]) -> Any:
    if isinstance(value, dict):
        return {k: _texts(v, scrub) for k, v in value.items()}
    if isinstance(value, list):
        return [_texts(item, scrub) for item in value]
    return scrub(value) if isinstance(value, str) else value


def _without_titles(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _without_titles(v) for k, v in value.items() if k != "title"}
    if isinstance(value, list):
        return [_without_titles(item) for item in value]
    return value
