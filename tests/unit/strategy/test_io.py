"""YAML in and out: safe loading, alias bombs and oversized documents refused, atomic saves."""

from __future__ import annotations

import os

import pytest
import yaml

from ktrdr.errors import NotFoundError, StrategyValidationError
from ktrdr.strategy import (
    MAX_ALIASES,
    MAX_DOCUMENT_BYTES,
    dump_strategy_yaml,
    load_strategy,
    parse_strategy_yaml,
    save_strategy,
    validate_strategy,
)

ALIAS_BOMB = """
a: &a ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]
b: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a]
c: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b]
d: &d [*c, *c, *c, *c, *c, *c, *c, *c, *c]
e: &e [*d, *d, *d, *d, *d, *d, *d, *d, *d]
f: &f [*e, *e, *e, *e, *e, *e, *e, *e, *e]
g: &g [*f, *f, *f, *f, *f, *f, *f, *f, *f]
h: &h [*g, *g, *g, *g, *g, *g, *g, *g, *g]
i: &i [*h, *h, *h, *h, *h, *h, *h, *h, *h]
"""


def _refusal(text: str) -> str:
    with pytest.raises(StrategyValidationError) as caught:
        parse_strategy_yaml(text, source="upload")
    (issue,) = caught.value.issues
    assert caught.value.source == "upload"
    return issue["message"]


def test_alias_bomb_is_refused():
    assert f"more than {MAX_ALIASES} YAML aliases" in _refusal(ALIAS_BOMB)


def test_a_few_aliases_are_allowed(strategy_data):
    text = dump_strategy_yaml(validate_strategy(strategy_data))
    text = text.replace("  timeframes: [1h]\n", "  timeframes: *tfs\n")
    text = text.replace("  timeframes: all\n", "  timeframes: &tfs [1h]\n")
    config = parse_strategy_yaml(text)
    assert [item.timeframes for item in config.nn_inputs] == [["1h"], ["1h"]]


def test_oversized_document_is_refused():
    assert "the limit is 1048576" in _refusal("#" * (MAX_DOCUMENT_BYTES + 1))


def test_oversized_file_is_refused(tmp_path):
    path = tmp_path / "big.yaml"
    path.write_text("#" * (MAX_DOCUMENT_BYTES + 1))
    with pytest.raises(StrategyValidationError, match="the limit is 1048576"):
        load_strategy(path)


def test_python_tags_are_never_constructed():
    assert "not valid YAML" in _refusal("name: !!python/object/apply:os.system ['true']\n")


def test_duplicate_keys_are_refused():
    assert "duplicate key 'name' (line 2)" in _refusal("name: a\nname: b\n")


@pytest.mark.parametrize(
    ("text", "found"), [("", "empty document"), ("- a\n- b\n", "list"), ("42\n", "int")]
)
def test_document_must_be_a_mapping(text, found):
    assert f"got {'an ' if found == 'empty document' else ''}{found}" in _refusal(text)


def test_broken_yaml_names_the_line():
    assert "line 2" in _refusal("name: a\n  bad: [\n")


def test_missing_file_is_not_found(tmp_path):
    with pytest.raises(NotFoundError, match="does not exist"):
        load_strategy(tmp_path / "nope.yaml")


def test_load_names_the_file_in_errors(tmp_path, strategy_data):
    strategy_data["model"]["type"] = "cnn"
    path = tmp_path / "broken.yaml"
    path.write_text(yaml.safe_dump(strategy_data))
    with pytest.raises(StrategyValidationError) as caught:
        load_strategy(path)
    assert caught.value.source == str(path)
    assert caught.value.issues[0]["path"] == "model.type"


def test_dump_writes_lists_inline_and_dates_as_text(strategy_data):
    text = dump_strategy_yaml(validate_strategy(strategy_data))
    assert "parameters: [0.0, 20.0, 35.0]" in text
    assert "start: '2017-04-19'" in text
    assert "&" not in text
    assert "*" not in text


def test_save_validates_before_writing(tmp_path, strategy_data):
    strategy_data["indicators"]["rsi_14"]["type"] = "rsx"
    with pytest.raises(StrategyValidationError):
        save_strategy(strategy_data, tmp_path)
    assert list(tmp_path.iterdir()) == []


def test_save_replaces_the_file_atomically(tmp_path, strategy_data, monkeypatch):
    first = save_strategy(strategy_data, tmp_path)
    before = first.read_text()
    strategy_data["description"] = "changed"
    replaced: list[tuple[str, str]] = []
    real_replace = os.replace

    def spy(source, target):
        replaced.append((os.path.dirname(source), str(target)))
        assert first.read_text() == before  # the old file is intact until the rename
        real_replace(source, target)

    monkeypatch.setattr(os, "replace", spy)
    second = save_strategy(strategy_data, tmp_path)
    assert second == first
    assert replaced == [(str(tmp_path), str(first))]
    assert load_strategy(first).description == "changed"
    assert [p.name for p in tmp_path.iterdir()] == [first.name]


def test_failed_write_leaves_no_temp_file(tmp_path, strategy_data, monkeypatch):
    def fail(source, target):
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", fail)
    with pytest.raises(OSError, match="disk full"):
        save_strategy(strategy_data, tmp_path)
    assert list(tmp_path.iterdir()) == []
