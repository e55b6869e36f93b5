"""The strategy catalog: list, get, resolve, and refusal of names that escape the folder."""

from __future__ import annotations

from pathlib import Path

import pytest

from ktrdr.errors import NotFoundError, StrategyValidationError, ValidationError
from ktrdr.strategy import StrategyCatalog, save_strategy, validate_strategy


@pytest.fixture
def catalog(tmp_path, strategy_data, examples_dir) -> StrategyCatalog:
    strategy_data["name"] = "my_strategy"
    save_strategy(strategy_data, tmp_path / "strategies")
    (tmp_path / "strategies" / "broken.yaml").write_text("name: broken\n")
    return StrategyCatalog(tmp_path / "strategies", extra_dirs=[examples_dir])


def test_list_summarises_every_file(catalog, examples_dir):
    rows = {row["name"]: row for row in catalog.list()}
    assert set(rows) == {"my_strategy", "broken"} | {p.stem for p in examples_dir.glob("*.yaml")}
    assert list(rows) == sorted(rows)
    assert rows["my_strategy"] == {
        "name": "my_strategy",
        "path": str(catalog.strategies_dir / "my_strategy.yaml"),
        "description": rows["my_strategy"]["description"],
        "symbols": ["EURUSD"],
        "timeframes": ["1h"],
        "indicator_count": 2,
        "valid": True,
    }
    assert rows["sp500_nasdaq_pooled_mlp"]["symbols"] == ["SP500", "NASDAQ"]
    assert rows["broken"]["valid"] is False
    assert "training_data: this key is required" in rows["broken"]["error"]


def test_get_loads_by_name(catalog):
    config, path = catalog.get("my_strategy")
    assert config.name == "my_strategy"
    assert path == catalog.strategies_dir / "my_strategy.yaml"
    config, path = catalog.get("goog_momentum_gru")
    assert config.symbols() == ["GOOG"]
    assert path.parent == catalog.extra_dirs[0]


def test_the_strategies_folder_wins_over_extra_folders(catalog, examples_dir):
    config, _ = catalog.get("goog_momentum_gru")
    save_strategy(config.model_copy(update={"description": "mine"}), catalog.strategies_dir)
    config, path = catalog.get("goog_momentum_gru")
    assert (config.description, path.parent) == ("mine", catalog.strategies_dir)


def test_unknown_name_is_not_found(catalog):
    with pytest.raises(NotFoundError, match="unknown strategy 'nope'; known strategies: broken"):
        catalog.get("nope")


@pytest.mark.parametrize("name", ["../x", "../../etc/passwd", "a/b", "/abs", ".hidden", "", "a b"])
def test_names_that_escape_the_folder_are_refused(catalog, name):
    with pytest.raises(ValidationError, match="is not allowed"):
        catalog.get(name)
    with pytest.raises(ValidationError, match="is not allowed"):
        catalog.resolve(name)


def test_resolve_accepts_a_name_or_a_yaml_path(catalog, examples_dir):
    by_name, path = catalog.resolve("my_strategy")
    by_path, same = catalog.resolve(str(path))
    assert by_name == by_path
    assert same == path
    config, _ = catalog.resolve(examples_dir / "eurusd_mtf_trend_lstm.yaml")
    assert config.timeframes() == ["1h", "4h"]


def test_resolve_of_a_missing_path_in_the_catalog_is_not_found(catalog):
    with pytest.raises(NotFoundError, match="does not exist"):
        catalog.resolve(str(catalog.strategies_dir / "missing.yaml"))


def test_resolve_of_a_path_outside_the_catalog_is_refused_existing_or_not(catalog, tmp_path):
    existing = tmp_path / "existing.yaml"
    existing.write_text("name: existing\n", encoding="utf-8")
    for path in (existing, tmp_path / "elsewhere.yaml"):
        with pytest.raises(ValidationError, match="must lie inside"):
            catalog.resolve(str(path))


def test_a_file_whose_name_differs_is_invalid(catalog, strategy_data):
    strategy_data["name"] = "inner_name"
    path = save_strategy(strategy_data, catalog.strategies_dir)
    path.rename(catalog.strategies_dir / "outer_name.yaml")
    with pytest.raises(StrategyValidationError) as caught:
        catalog.get("outer_name")
    assert caught.value.issues[0]["path"] == "name"
    row = next(r for r in catalog.list() if r["name"] == "outer_name")
    assert row["valid"] is False


def test_missing_folders_give_an_empty_catalog(tmp_path):
    assert StrategyCatalog(tmp_path / "none", extra_dirs=[Path(tmp_path / "x")]).list() == []


def test_valid_strategies_from_the_catalog_validate_again(catalog):
    for row in catalog.list():
        if row["valid"]:
            config, _ = catalog.get(row["name"])
            assert validate_strategy(config) == config
