"""BacktestingService input resolution: costs, range precedence, model paths."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from support.strategies import make_strategy

from ktrdr.backtesting.service import (
    BacktestingService,
    requested_range,
    resolve_costs,
    resolve_mode,
)
from ktrdr.errors import NotFoundError, ValidationError
from ktrdr.settings import Settings
from ktrdr.strategy import Costs, strategy_to_dict, validate_strategy

NO_EXTRA_COSTS = {"spread_bps": 0.0, "financing_bps_per_day": 0.0}


def with_backtest(backtest: dict | None):
    data = strategy_to_dict(
        make_strategy({"rsi_14": {"type": "rsi", "period": 14}}, [{"raw_indicator": "rsi_14"}])
    )
    if backtest is not None:
        data["backtest"] = backtest
    return validate_strategy(data)


@pytest.mark.parametrize(
    ("strategy_costs", "overrides", "expected"),
    [
        (None, None, Costs().model_dump(exclude_none=True)),
        (
            Costs(commission_bps=1.0, slippage_bps=0.5),
            None,
            {**NO_EXTRA_COSTS, "commission_bps": 1.0, "slippage_bps": 0.5},
        ),
        (
            Costs(commission_bps=1.0, slippage_bps=0.5),
            {"slippage_bps": 2},
            {**NO_EXTRA_COSTS, "commission_bps": 1.0, "slippage_bps": 2.0},
        ),
        (
            Costs(commission_bps=1.0, slippage_bps=0.5),
            {"spread_bps": 3, "financing_bps_per_day": 0.2},
            {
                "commission_bps": 1.0,
                "slippage_bps": 0.5,
                "spread_bps": 3.0,
                "financing_bps_per_day": 0.2,
            },
        ),
        (
            Costs(per_symbol={"BTCUSD": {"commission_bps": 10}}),
            {"commission_bps": 2},
            {
                **NO_EXTRA_COSTS,
                "commission_bps": 2.0,
                "slippage_bps": 0.5,
                "per_symbol": {"BTCUSD": {"commission_bps": 10.0}},
            },
        ),
        (
            None,
            {"commission_bps": 0, "slippage_bps": 0},
            {**NO_EXTRA_COSTS, "commission_bps": 0.0, "slippage_bps": 0.0},
        ),
    ],
)
def test_costs_are_the_strategys_with_overrides_on_top(strategy_costs, overrides, expected) -> None:
    assert resolve_costs(strategy_costs, overrides) == expected


@pytest.mark.parametrize(
    ("overrides", "words"),
    [
        ({"commission": 1.0}, "costs.commission"),
        ({"slippage_bps": -0.5}, "costs.slippage_bps"),
        ({"commission_bps": "lots"}, "costs.commission_bps"),
        ({"spread_bps": -1}, "costs.spread_bps"),
        (
            {"per_symbol": {"BTCUSD": {"commission_bps": -1}}},
            "costs.per_symbol.BTCUSD.commission_bps",
        ),
        ({"per_symbol": {"BTCUSD": {"fee": 1}}}, "costs.per_symbol.BTCUSD.fee"),
        ([1.0, 0.5], "must be a mapping"),
    ],
)
def test_bad_costs_name_the_offending_key(overrides, words: str) -> None:
    with pytest.raises(ValidationError, match=words) as caught:
        resolve_costs(None, overrides)
    assert "commission_bps, slippage_bps, spread_bps, financing_bps_per_day" in caught.value.message


def test_explicit_dates_win_over_the_strategys_range_which_wins_over_none() -> None:
    configured = with_backtest({"date_range": {"start": "2018-01-01", "end": "2018-02-07"}})
    assert requested_range(None, None, configured) == (dt.date(2018, 1, 1), dt.date(2018, 2, 7))
    assert requested_range("2018-01-15", None, configured) == ("2018-01-15", dt.date(2018, 2, 7))
    assert requested_range(None, "2018-01-20", configured) == (dt.date(2018, 1, 1), "2018-01-20")
    assert requested_range(None, None, with_backtest(None)) == (None, None)
    assert requested_range(None, None, with_backtest({"costs": {}})) == (None, None)


def make_bundle_folder(folder: Path) -> Path:
    folder.mkdir(parents=True)
    (folder / "bundle.json").write_text("{}")
    return folder


@pytest.fixture
def service(tmp_path: Path) -> BacktestingService:
    settings = Settings(home=tmp_path / "home", database_url=None)
    return BacktestingService(None, None, settings=settings, data=None, windows=None)  # type: ignore[arg-type]


def test_a_name_means_its_newest_complete_version(service: BacktestingService) -> None:
    models = service.settings.path("models", "trend")
    make_bundle_folder(models / "v2")
    newest = make_bundle_folder(models / "v10")
    (models / "v11").mkdir()  # a training still saving: no bundle.json yet
    (models / "notes").mkdir()
    assert service.resolve_model_path("trend") == newest


def test_a_bundle_folder_is_taken_as_given_or_under_home(service: BacktestingService) -> None:
    folder = make_bundle_folder(service.settings.path("models", "trend", "v1"))
    assert service.resolve_model_path(folder) == folder
    assert service.resolve_model_path(str(folder)) == folder
    assert (
        service.resolve_model_path("models/trend/v1") == service.settings.home / "models/trend/v1"
    )


@pytest.mark.parametrize("name", ["missing", "models/missing/v1"])
def test_an_unknown_model_is_not_found_naming_what_was_looked_for(
    service: BacktestingService, name: str
) -> None:
    make_bundle_folder(service.settings.path("models", "trend", "v1"))
    with pytest.raises(NotFoundError) as caught:
        service.resolve_model_path(name)
    assert repr(name) in caught.value.message
    assert str(service.settings.path("models")) in caught.value.message


@pytest.mark.parametrize("name", ["/nowhere/v1", "../../x", "models/../../x"])
def test_a_model_path_outside_models_is_refused(service: BacktestingService, name: str) -> None:
    with pytest.raises(ValidationError, match="must lie inside"):
        service.resolve_model_path(name)


def test_a_name_with_only_unfinished_versions_is_not_found(service: BacktestingService) -> None:
    (service.settings.path("models", "trend", "v1")).mkdir(parents=True)
    with pytest.raises(NotFoundError, match="no trained version"):
        service.resolve_model_path("trend")


def test_chunk_rows_must_be_positive(tmp_path: Path) -> None:
    settings = Settings(home=tmp_path, database_url=None)
    with pytest.raises(ValidationError, match="chunk_rows"):
        BacktestingService(None, None, settings=settings, data=None, windows=None, chunk_rows=0)  # type: ignore[arg-type]


def test_the_mode_is_walk_forward_unless_dates_say_range() -> None:
    configured = with_backtest({"date_range": {"start": "2017-11-01", "end": "2017-11-30"}})
    plain = with_backtest(None)
    assert resolve_mode(None, None, None, plain) == "walk_forward"
    assert resolve_mode(None, "2017-11-01", None, plain) == "range"
    assert resolve_mode(None, None, None, configured) == "range"
    # An explicit mode ignores the strategy's range; holdout decides its own bars.
    assert resolve_mode("holdout", None, None, configured) == "holdout"
    assert resolve_mode("walk_forward", None, None, configured) == "walk_forward"


@pytest.mark.parametrize(
    ("mode", "start", "words"),
    [
        ("sideways", None, "must be one of walk_forward, range, holdout"),
        ("holdout", "2018-01-01", "for mode range"),
    ],
)
def test_a_bad_mode_or_dates_with_a_dateless_mode_are_refused(mode, start, words) -> None:
    with pytest.raises(ValidationError, match=words):
        resolve_mode(mode, start, None, with_backtest(None))
