"""decisions.exits, decisions.sizing and backtest.costs: accepted forms and errors at their path."""

from __future__ import annotations

import pytest

from ktrdr.strategy import validate_strategy


def _with(data: dict, section: str, key: str, value: object) -> dict:
    data.setdefault(section, {})[key] = value
    return data


def _triple_barrier(data: dict) -> dict:
    data["training"]["labels"] = {
        "source": "triple_barrier",
        "pt_multiplier": 2.0,
        "sl_multiplier": 1.0,
        "max_holding_period": 12,
    }
    return data


def test_fixed_exits_and_defaults(strategy_data) -> None:
    plain = validate_strategy(strategy_data)
    assert plain.decisions.exits is None and plain.decisions.sizing is None
    exits = {"stop_loss": 0.02, "take_profit": 0.04, "trailing_stop": 0.03}
    config = validate_strategy(_with(strategy_data, "decisions", "exits", exits))
    assert config.decisions.exits.stop_loss == 0.02
    assert config.decisions.exits.take_profit == 0.04
    assert config.decisions.exits.trailing_stop == 0.03
    assert not config.decisions.exits.from_labels


def test_exits_from_labels_with_triple_barrier(strategy_data) -> None:
    data = _with(_triple_barrier(strategy_data), "decisions", "exits", {"from_labels": True})
    assert validate_strategy(data).decisions.exits.from_labels


@pytest.mark.parametrize(
    ("exits", "path", "text"),
    [
        ({"stop_loss": 0}, "decisions.exits.stop_loss", "greater than 0"),
        ({"take_profit": 1.0}, "decisions.exits.take_profit", "less than 1"),
        ({"trailing_stop": -0.1}, "decisions.exits.trailing_stop", "greater than 0"),
        ({"stop_loss": "tight"}, "decisions.exits.stop_loss", "number"),
        ({"stop": 0.02}, "decisions.exits.stop", "unknown key 'stop'"),
        ({"from_labels": True}, "decisions.exits.from_labels", "training.labels.source"),
    ],
)
def test_exit_errors_name_the_field(strategy_data, issues_of, exits, path, text) -> None:
    issues = issues_of(_with(strategy_data, "decisions", "exits", exits))
    assert [i["path"] for i in issues] == [path]
    assert text in issues[0]["message"]


def test_from_labels_excludes_fixed_stop(strategy_data, issues_of) -> None:
    exits = {"from_labels": True, "stop_loss": 0.02}
    issues = issues_of(_with(_triple_barrier(strategy_data), "decisions", "exits", exits))
    assert [i["path"] for i in issues] == ["decisions.exits"]
    assert "not both" in issues[0]["message"]


def test_sizing_forms(strategy_data) -> None:
    sizing = {"volatility_target": {"annual_vol": 0.1, "lookback": 20}, "max_leverage": 2}
    config = validate_strategy(_with(strategy_data, "decisions", "sizing", sizing))
    assert config.decisions.sizing.volatility_target.annual_vol == 0.1
    assert config.decisions.sizing.max_leverage == 2.0
    fixed = validate_strategy(_with(strategy_data, "decisions", "sizing", {"fixed_fraction": 0.5}))
    assert fixed.decisions.sizing.fraction == 0.5


@pytest.mark.parametrize(
    ("sizing", "path", "text"),
    [
        (
            {"volatility_target": {"annual_vol": 0.1, "lookback": 1}},
            "decisions.sizing.volatility_target.lookback",
            "greater than or equal to 2",
        ),
        (
            {"volatility_target": {"annual_vol": 0.1}},
            "decisions.sizing.volatility_target.lookback",
            "required",
        ),
        ({"max_leverage": 0}, "decisions.sizing.max_leverage", "greater than 0"),
        ({"fixed_fraction": 2.0}, "decisions.sizing", "above max_leverage 1.0"),
        (
            {"fixed_fraction": 0.5, "volatility_target": {"annual_vol": 0.1, "lookback": 20}},
            "decisions.sizing",
            "not both",
        ),
    ],
)
def test_sizing_errors_name_the_field(strategy_data, issues_of, sizing, path, text) -> None:
    issues = issues_of(_with(strategy_data, "decisions", "sizing", sizing))
    assert [i["path"] for i in issues] == [path]
    assert text in issues[0]["message"]


def test_costs_with_spread_financing_and_per_symbol(strategy_data) -> None:
    costs = {
        "commission_bps": 1,
        "spread_bps": 2,
        "financing_bps_per_day": 0.3,
        "per_symbol": {"BTCUSD": {"commission_bps": 10}},
    }
    strategy_data["backtest"] = {"costs": costs}
    config = validate_strategy(strategy_data)
    assert config.backtest.costs.for_symbol("BTCUSD") == {
        "commission_bps": 10.0,
        "slippage_bps": 0.5,
        "spread_bps": 2.0,
        "financing_bps_per_day": 0.3,
    }
    assert config.backtest.costs.for_symbol("EURUSD")["commission_bps"] == 1.0


@pytest.mark.parametrize(
    ("costs", "path", "text"),
    [
        ({"spread_bps": -1}, "backtest.costs.spread_bps", "greater than or equal to 0"),
        (
            {"per_symbol": {"BTCUSD": {"commission_bps": -2}}},
            "backtest.costs.per_symbol.BTCUSD.commission_bps",
            "greater than or equal to 0",
        ),
        (
            {"per_symbol": {"BTCUSD": {"fees": 2}}},
            "backtest.costs.per_symbol.BTCUSD.fees",
            "unknown key 'fees'",
        ),
        ({"per_symbol": {"BTC/USD": {"spread_bps": 2}}}, "backtest.costs.per_symbol.BTC/USD", ""),
    ],
)
def test_cost_errors_name_the_field(strategy_data, issues_of, costs, path, text) -> None:
    strategy_data["backtest"] = {"costs": costs}
    issues = issues_of(strategy_data)
    assert [i["path"] for i in issues] == [path]
    assert text in issues[0]["message"]
