"""Strategies over HTTP and ``ktrdr strategies list|show|validate``."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import httpx
import pytest
from integration.surfaces.conftest import EXAMPLE, EXAMPLES, example_strategy, run_cli, write_yaml

EXAMPLE_FILES = sorted(EXAMPLES.glob("*.yaml"))


def _unknown_indicator(strategy: dict[str, Any]) -> None:
    strategy["indicators"]["rsi_14"]["type"] = "rsx"


def _unknown_parameter(strategy: dict[str, Any]) -> None:
    strategy["indicators"]["rsi_14"]["lenght"] = 3


def _dangling_fuzzy_set(strategy: dict[str, Any]) -> None:
    strategy["nn_inputs"][0]["fuzzy_set"] = "rsi_zones"


def _four_number_gaussian(strategy: dict[str, Any]) -> None:
    strategy["fuzzy_sets"]["rsi_zone"]["oversold"] = {
        "type": "gaussian",
        "parameters": [20, 5, 1, 2],
    }


def _exits_from_zigzag_labels(strategy: dict[str, Any]) -> None:
    strategy["decisions"]["exits"] = {"from_labels": True}


def _stop_loss_of_whole_price(strategy: dict[str, Any]) -> None:
    strategy["decisions"]["exits"] = {"stop_loss": 1.5}


def _vol_target_without_lookback(strategy: dict[str, Any]) -> None:
    strategy["decisions"]["sizing"] = {"volatility_target": {"annual_vol": 0.1}}


def _negative_per_symbol_spread(strategy: dict[str, Any]) -> None:
    strategy["backtest"] = {"costs": {"per_symbol": {"EURUSD": {"spread_bps": -1}}}}


BROKEN: list[tuple[Callable[[dict[str, Any]], None], str, str]] = [
    (_unknown_indicator, "indicators.rsi_14.type", "unknown indicator type 'rsx'"),
    (_unknown_parameter, "indicators.rsi_14.lenght", "unknown parameter for rsi"),
    (_dangling_fuzzy_set, "nn_inputs.0.fuzzy_set", "fuzzy set 'rsi_zones' is not defined"),
    (
        _four_number_gaussian,
        "fuzzy_sets.rsi_zone.oversold.parameters",
        "gaussian takes 2 parameters [mean, sigma], got 4",
    ),
    (_exits_from_zigzag_labels, "decisions.exits.from_labels", "training.labels.source is"),
    (_stop_loss_of_whole_price, "decisions.exits.stop_loss", "less than 1"),
    (
        _vol_target_without_lookback,
        "decisions.sizing.volatility_target.lookback",
        "this key is required",
    ),
    (
        _negative_per_symbol_spread,
        "backtest.costs.per_symbol.EURUSD.spread_bps",
        "greater than or equal to 0",
    ),
]


def broken_strategy(break_it: Callable[[dict[str, Any]], None]) -> dict[str, Any]:
    strategy = example_strategy()
    break_it(strategy)
    return strategy


def test_validate_accepts_every_example_without_a_server():
    result = run_cli("http://127.0.0.1:9", "strategies", "validate", *map(str, EXAMPLE_FILES))

    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines() == [f"ok {path}" for path in EXAMPLE_FILES]


@pytest.mark.parametrize(("break_it", "path", "message"), BROKEN)
def test_validate_prints_the_field_path_of_each_problem(tmp_path, break_it, path, message):
    broken = write_yaml(tmp_path / "broken.yaml", broken_strategy(break_it))

    result = run_cli("http://127.0.0.1:9", "strategies", "validate", str(EXAMPLE), str(broken))

    assert result.exit_code == 1
    lines = result.stdout.splitlines()
    assert lines[0] == f"ok {EXAMPLE}"
    assert lines[1] == f"invalid {broken}"
    assert lines[2].startswith(f"  {path}: ")
    assert message in lines[2]


def test_validate_names_a_missing_file_and_reports_json(tmp_path):
    missing = tmp_path / "missing.yaml"

    table = run_cli("http://127.0.0.1:9", "strategies", "validate", str(missing))
    raw = run_cli("http://127.0.0.1:9", "strategies", "validate", str(EXAMPLE), "--json")

    assert table.exit_code == 1
    assert f"strategy file {missing} does not exist" in table.stdout
    assert raw.exit_code == 0
    assert json.loads(raw.stdout) == [
        {"file": str(EXAMPLE), "valid": True, "name": "eurusd_rsi_macd_mlp", "issues": []}
    ]


def test_list_and_show_come_from_the_server(plain_server):
    listed = run_cli(plain_server.base_url, "strategies", "list")
    shown = run_cli(plain_server.base_url, "strategies", "show", "eurusd_rsi_macd_mlp")
    raw = run_cli(plain_server.base_url, "strategies", "show", "eurusd_rsi_macd_mlp", "--json")
    unknown = run_cli(plain_server.base_url, "strategies", "show", "no_such_strategy")

    assert listed.exit_code == 0, listed.output
    for path in EXAMPLE_FILES:
        assert path.stem in listed.stdout
    assert shown.exit_code == 0, shown.output
    assert "confidence_threshold: 0.4" in shown.stdout
    data = json.loads(raw.stdout)["data"]
    assert data["name"] == "eurusd_rsi_macd_mlp"
    assert data["path"] == str(EXAMPLE)
    assert data["yaml"] == EXAMPLE.read_text()
    assert data["strategy"]["indicators"]["rsi_14"]["period"] == 14
    assert unknown.exit_code == 1
    assert unknown.stderr.startswith("error: unknown strategy 'no_such_strategy'")


def test_validate_endpoint_takes_yaml_or_an_object(plain_server):
    url = f"{plain_server.base_url}/api/v1/strategies/validate"
    broken = broken_strategy(_four_number_gaussian)

    from_yaml = httpx.post(url, json={"yaml": EXAMPLE.read_text()})
    from_object = httpx.post(url, json={"strategy": example_strategy()})
    invalid_object = httpx.post(url, json={"strategy": broken})
    invalid_yaml = httpx.post(url, json={"yaml": "name: [unclosed"})

    for response in (from_yaml, from_object):
        assert response.status_code == 200
        assert response.json() == {
            "success": True,
            "data": {"valid": True, "name": "eurusd_rsi_macd_mlp", "issues": []},
        }
    assert invalid_object.status_code == 200
    verdict = invalid_object.json()["data"]
    assert verdict["valid"] is False
    assert verdict["name"] == "eurusd_rsi_macd_mlp"
    assert verdict["issues"] == [
        {
            "path": "fuzzy_sets.rsi_zone.oversold.parameters",
            "message": "gaussian takes 2 parameters [mean, sigma], got 4",
        }
    ]
    assert invalid_yaml.status_code == 200
    assert invalid_yaml.json()["data"]["valid"] is False
    assert "not valid YAML" in invalid_yaml.json()["data"]["issues"][0]["message"]


@pytest.mark.parametrize(
    "body", [{}, {"yaml": "name: x", "strategy": {"name": "x"}}, {"text": "name: x"}]
)
def test_validate_endpoint_refuses_a_body_that_is_neither(plain_server, body):
    response = httpx.post(f"{plain_server.base_url}/api/v1/strategies/validate", json=body)

    assert response.status_code == 422
    assert response.json()["success"] is False


@pytest.mark.parametrize(
    ("path", "body"),
    [
        ("/training/start", {"strategy": "eurusd_rsi_macd_mlp"}),
        ("/backtests/start", {"model_path": "eurusd_rsi_macd_mlp"}),
    ],
)
def test_job_endpoints_answer_503_on_a_server_without_workers(plain_server, path, body):
    response = httpx.post(f"{plain_server.base_url}/api/v1{path}", json=body)

    assert response.status_code == 503
    assert response.json()["error"]["code"] == "unavailable"
