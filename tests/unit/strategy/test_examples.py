"""The bundled example strategies validate, round-trip and fit the bundled sample data."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from ktrdr.strategy import (
    StrategyConfig,
    dump_strategy_yaml,
    load_strategy,
    parse_strategy_yaml,
    save_strategy,
    strategy_to_dict,
    validate_strategy,
)

EXAMPLE_FILES = sorted((Path(__file__).resolve().parents[3] / "examples/strategies").glob("*.yaml"))

# First and last bar of each bundled sample (DESIGN: bundled data).
SAMPLE_RANGES = {
    ("EURUSD", "1h"): (dt.date(2017, 4, 19), dt.date(2018, 2, 7)),
    ("GOOG", "1d"): (dt.date(2004, 8, 19), dt.date(2013, 3, 1)),
    ("SP500", "1d"): (dt.date(1999, 1, 4), dt.date(2018, 12, 31)),
    ("NASDAQ", "1d"): (dt.date(1999, 1, 4), dt.date(2018, 12, 31)),
}


@pytest.fixture(params=EXAMPLE_FILES, ids=lambda path: path.stem)
def example(request) -> StrategyConfig:
    return load_strategy(request.param)


def test_there_are_at_least_six_examples():
    assert len(EXAMPLE_FILES) >= 6


def test_example_name_is_its_file_name():
    assert [load_strategy(path).name for path in EXAMPLE_FILES] == [p.stem for p in EXAMPLE_FILES]


def test_examples_cover_models_labels_and_modes():
    configs = [load_strategy(path) for path in EXAMPLE_FILES]
    assert {c.model.type for c in configs} == {"mlp", "lstm", "gru"}
    assert {c.training.labels.source for c in configs} == {
        "zigzag",
        "triple_barrier",
        "forward_return",
    }
    assert any(len(c.timeframes()) > 1 for c in configs)
    assert any(len(c.symbols()) > 1 for c in configs)


def test_example_round_trips_through_yaml(example):
    text = dump_strategy_yaml(example)
    assert parse_strategy_yaml(text) == example
    assert dump_strategy_yaml(parse_strategy_yaml(text)) == text


def test_example_revalidates_from_its_own_dict(example):
    assert validate_strategy(strategy_to_dict(example)) == example
    assert validate_strategy(example) == example


def test_example_ranges_lie_inside_the_bundled_data(example):
    training = example.training_data.date_range
    if training is None:
        return  # the data set's whole research window
    for symbol in example.symbols():
        first, last = SAMPLE_RANGES[(symbol, example.base_timeframe())]
        assert first <= training.start < training.end <= last


def test_the_eurusd_examples_train_on_the_research_window_without_a_range(example):
    # EURUSD 1h is the shortest sample: a fixed range would reach into its sealed holdout.
    if "EURUSD" in example.symbols():
        assert example.training_data.date_range is None


def test_examples_backtest_walk_forward_not_a_range_in_the_holdout(example):
    # Training is clipped to the research window; a backtest range would be in-sample or in
    # the sealed holdout, so the examples leave the backtest to the walk-forward default.
    assert example.backtest is None or example.backtest.date_range is None


def test_example_trains_in_seconds(example):
    assert example.training.epochs <= 30


def test_save_then_load_gives_the_same_strategy(example, tmp_path):
    path = save_strategy(example, tmp_path / "strategies")
    assert path == tmp_path / "strategies" / f"{example.name}.yaml"
    assert load_strategy(path) == example
    assert [p.name for p in path.parent.iterdir()] == [path.name]
