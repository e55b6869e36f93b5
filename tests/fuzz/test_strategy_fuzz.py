"""Property-based fuzz of the strategy parser and validator: bad input is only ever refused.

Random text, character-level mutations of a valid YAML file, and structural mutations of a valid
strategy (keys dropped, values replaced by arbitrary JSON-like values) must either validate or
raise ``StrategyValidationError`` with at least one issue — never any other exception.
"""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ktrdr.errors import StrategyValidationError
from ktrdr.strategy import parse_strategy_yaml, validate_strategy

EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "strategies"
BASE_TEXT = (EXAMPLES / "eurusd_rsi_macd_mlp.yaml").read_text()
BASE_DATA = yaml.safe_load(BASE_TEXT)
FUZZ = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])

scalars = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.text(max_size=20)
    | st.sampled_from(["rsi", "1h", "all", "mlp", "triangular", "zigzag", "../x", "EURUSD", ""])
)
values = st.recursive(
    scalars,
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=12,
)
FRAGMENTS = [*":-[]{}&*!|>#'\"\n\t ,%@`?", "  ", "\n  ", "0", "x", "1e999", "&a", "*a"]


def refused_or_valid(call: Any, *args: Any) -> None:
    """Run the parser/validator; a refusal must be a StrategyValidationError with issues."""
    try:
        call(*args)
    except StrategyValidationError as exc:
        assert exc.issues and all(isinstance(i["message"], str) for i in exc.issues)


def paths_of(data: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Every path to a value inside nested dicts and lists."""
    found = [prefix] if prefix else []
    if isinstance(data, dict):
        for key, value in data.items():
            found += paths_of(value, (*prefix, key))
    elif isinstance(data, list):
        for index, value in enumerate(data):
            found += paths_of(value, (*prefix, index))
    return found


BASE_PATHS = paths_of(BASE_DATA)


def mutate(data: Any, path: tuple[Any, ...], action: str, value: Any) -> Any:
    """A deep copy of ``data`` with the value at ``path`` replaced, deleted or wrapped."""
    copied = copy.deepcopy(data)
    holder = copied
    for step in path[:-1]:
        holder = holder[step]
    last = path[-1]
    if action == "delete":
        del holder[last]
    elif action == "wrap":
        holder[last] = [holder[last]]
    else:
        holder[last] = value
    return copied


@FUZZ
@given(st.text(max_size=400))
def test_random_text_is_refused_or_valid(text: str) -> None:
    refused_or_valid(parse_strategy_yaml, text)


@FUZZ
@given(st.binary(max_size=300).map(lambda raw: raw.decode("latin-1")))
def test_random_bytes_as_text_are_refused_or_valid(text: str) -> None:
    refused_or_valid(parse_strategy_yaml, text)


@FUZZ
@given(
    st.lists(
        st.tuples(
            st.integers(min_value=0, max_value=len(BASE_TEXT) - 1),
            st.sampled_from(["delete", "insert", "replace"]),
            st.sampled_from(FRAGMENTS),
        ),
        min_size=1,
        max_size=6,
    )
)
def test_mutated_yaml_text_is_refused_or_valid(edits: list[tuple[int, str, str]]) -> None:
    text = BASE_TEXT
    for position, action, fragment in edits:
        at = min(position, len(text) - 1)
        if action == "delete":
            text = text[:at] + text[at + 1 :]
        elif action == "insert":
            text = text[:at] + fragment + text[at:]
        else:
            text = text[:at] + fragment + text[at + len(fragment) :]
    refused_or_valid(parse_strategy_yaml, text)


@FUZZ
@given(
    st.lists(
        st.tuples(st.sampled_from(BASE_PATHS), st.sampled_from(["delete", "wrap", "set"]), values),
        min_size=1,
        max_size=4,
    )
)
def test_mutated_strategy_data_is_refused_or_valid(
    mutations: list[tuple[tuple[Any, ...], str, Any]],
) -> None:
    data = BASE_DATA
    for path, action, value in mutations:
        if path in paths_of(data):
            data = mutate(data, path, action, value)
    refused_or_valid(validate_strategy, data)
    refused_or_valid(parse_strategy_yaml, yaml.safe_dump(data, allow_unicode=True))


@FUZZ
@given(values)
def test_any_document_shape_is_refused_or_valid(value: Any) -> None:
    refused_or_valid(validate_strategy, value)
