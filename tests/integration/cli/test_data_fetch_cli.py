"""``ktrdr data fetch|update|check|list`` against a real server and a stand-in Binance."""

from __future__ import annotations

import json

import pandas as pd
import pytest
from integration.conftest import make_settings, run_live_server
from support.eventually import eventually
from support.fake_binance import fake_binance
from typer.testing import CliRunner

from ktrdr.cli.main import app
from ktrdr.operations import OperationStatus
from ktrdr.strategy import load_strategy

JANUARY_HOURS = 31 * 24


@pytest.fixture
def exchange():
    with fake_binance() as server:
        yield server


def _fetch(cli, exchange, *extra: str, symbol: str = "BTC/USDT"):
    return cli(
        "data",
        "fetch",
        symbol,
        "--source",
        "ccxt:binance",
        "--timeframe",
        "1h",
        "--start",
        "2021-01-01",
        "--base-url",
        exchange.base_url,
        *extra,
    )


def test_fetch_then_a_longer_rerun_then_list_and_check(cli, exchange):
    first = _fetch(cli, exchange, "--end", "2021-01-31")
    assert first.exit_code == 0, first.output
    assert f"{JANUARY_HOURS} bars added from ccxt:binance" in first.stdout
    before = len(exchange.kline_starts)

    second = _fetch(cli, exchange, "--end", "2021-02-28", "--follow")

    assert second.exit_code == 0, second.output
    assert f"{28 * 24} bars added" in second.stdout
    assert min(exchange.kline_starts[before:]) == pd.Timestamp("2021-02-01", tz="UTC")
    listed = cli("data", "list")
    row = next(line for line in listed.stdout.splitlines() if "BTC-USDT" in line)
    assert "ccxt:binance BTC/USDT" in row and f"{JANUARY_HOURS + 28 * 24:,}" in row
    check = cli("data", "check", "BTC-USDT", "1h")
    assert check.exit_code == 0, check.output
    assert "crypto calendar" in check.stdout and "0 missing" in check.stdout


def test_fetch_json_prints_the_finished_operation(cli, exchange):
    result = _fetch(cli, exchange, "--end", "2021-01-02", "--json")

    assert result.exit_code == 0, result.output
    operation = json.loads(result.stdout)
    assert operation["operation_type"] == "data_fetch" and operation["status"] == "completed"
    assert operation["result_summary"]["bars_added"] == 48


def test_an_unknown_symbol_is_one_line_and_exit_1(cli, exchange):
    result = _fetch(cli, exchange, symbol="NOPE/USDT")

    assert result.exit_code == 1
    assert result.stderr.count("\n") == 1
    assert "unknown symbol 'NOPE/USDT' on ccxt:binance" in result.stderr
    assert "NOPE" not in cli("data", "list").stdout


def test_an_unknown_exchange_is_refused_before_anything_starts(cli):
    result = cli("data", "fetch", "BTC/USDT", "--source", "ccxt:nowhere", "--timeframe", "1h")

    assert result.exit_code == 1
    assert "unknown exchange 'nowhere'" in result.stderr
    assert "data_fetch" not in cli("operations", "list").stdout


def test_check_of_imported_data_asks_for_a_calendar(cli):
    result = cli("data", "check", "EURUSD", "1h")

    assert result.exit_code == 1
    assert "calendar is unknown" in result.stderr
    named = cli("data", "check", "EURUSD", "1h", "--calendar", "fx")
    assert named.exit_code == 0, named.output
    assert "fx calendar" in named.stdout


def test_agent_trigger_researches_the_fetched_data_set(tmp_path, exchange):
    settings = make_settings(tmp_path / "home", workers=1, agent_poll_interval=0.1)
    with run_live_server(settings, with_executor=True) as server:

        def cli(*args: str):
            env = {"KTRDR_API_TOKEN": None}
            return CliRunner().invoke(app, ["--url", server.base_url, *args], env=env)

        fetched = _fetch(cli, exchange, "--end", "2021-03-31")
        assert fetched.exit_code == 0, fetched.output
        started = cli("agent", "trigger", "--symbol", "BTC-USDT", "--timeframe", "1h", "--json")
        assert started.exit_code == 0, started.output
        research_id = json.loads(started.stdout)["operation_id"]
        operations = server.services.operations
        research = operations.get(research_id)
        assert (research.metadata.symbol, research.metadata.timeframe) == ("BTC-USDT", "1h")

        design_id = eventually(
            lambda: operations.get(research_id).metadata.parameters.get("design_op_id"),
            "design started",
        )
        design = eventually(
            lambda: operations.get(design_id) if operations.get(design_id).is_terminal else None,
            "design finished",
            timeout=120,
        )
        assert design.status is OperationStatus.COMPLETED, design.error_message
        strategy = load_strategy(design.result_summary["strategy_path"])
        assert strategy.symbols() == ["BTC-USDT"] and strategy.timeframes() == ["1h"]
        operations.cancel(research_id)
