"""The dashboard's endpoints over real HTTP: experiments (filter, sort, page), trials, the page."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import httpx
import pandas as pd
import pytest

from ktrdr.agents.memory import ExperimentMemory, ExperimentRecord
from ktrdr.evaluation.returns import returns_to_parquet
from ktrdr.operations import OperationType
from ktrdr.operations.database import write_transaction
from ktrdr.operations.schema import evaluation_trials

API = "/api/v1"
START = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
TOKEN = "dashboard-test-token-0123456789"


def _get(server, path: str, **params) -> httpx.Response:
    return httpx.get(f"{server.base_url}{API}{path}", params=params)


def _strategy(symbol: str, timeframe: str) -> dict:
    return {
        "training_data": {
            "symbols": {"mode": "single", "symbol": symbol},
            "timeframes": {"mode": "single", "timeframe": timeframe},
        }
    }


def _research(services, *, holdout: dict | None = None, folds: list | None = None) -> str:
    """A research operation whose state carries a holdout result and walk-forward folds."""
    parameters = {
        "phase": "holdout" if holdout else "assessing",
        "holdout": holdout,
        "backtest_result": {"folds": folds or []},
        "verdict_reason": "dsr 0.97 >= 0.95 (4 trials)",
    }
    operation = services.operations.create(
        OperationType.AGENT_RESEARCH, metadata={"parameters": parameters}
    )
    return operation.operation_id


def _record(services, experiment_id: str, minutes: int, **fields) -> None:
    symbol, timeframe = fields.pop("data_set", ("EURUSD", "1h"))
    sharpe = fields.pop("sharpe", None)
    ExperimentMemory(services.operations.store.engine).record(
        ExperimentRecord(
            experiment_id=experiment_id,
            created_at=START + timedelta(minutes=minutes),
            strategy_name=fields.pop("name", experiment_id),
            designer="offline",
            status=fields.pop("status", "completed"),
            strategy=_strategy(symbol, timeframe),
            backtest_metrics=None if sharpe is None else {"sharpe_ratio": sharpe},
            **fields,
        )
    )


@pytest.fixture
def seeded(live_server):
    """Four experiments on two data sets; the promising one met its holdout."""
    services = live_server.services
    promising = _research(
        services,
        holdout={"verdict": "confirmed", "looks": 1, "psr": 0.93},
        folds=[{"fold": 1, "start_date": "2018-01-01", "metrics": {"sharpe_ratio": 1.5}}],
    )
    _record(
        services,
        promising,
        1,
        name="alpha",
        sharpe=2.0,
        verdict="promising",
        statistics={"n_trials": 4, "psr": 0.99, "dsr": 0.97, "pbo": None},
    )
    _record(
        services,
        "exp_b",
        2,
        name="beta",
        sharpe=0.5,
        verdict="neutral",
        statistics={"n_trials": 5, "psr": 0.7, "dsr": 0.4},
    )
    _record(
        services, "exp_c", 3, name="gamma", sharpe=-1.0, verdict="poor", data_set=("BTC-USDT", "4h")
    )
    _record(services, "exp_d", 4, name="delta", status="gate_failed")
    return live_server, promising


def test_experiments_list_newest_first_with_statistics_data_set_and_holdout(seeded):
    server, promising = seeded

    body = _get(server, "/experiments").json()

    assert body["success"] is True and body["total_count"] == 4
    assert [row["strategy_name"] for row in body["data"]] == ["delta", "gamma", "beta", "alpha"]
    alpha = body["data"][-1]
    assert alpha["experiment_id"] == promising
    assert alpha["data_set"] == "EURUSD 1h" and alpha["symbols"] == ["EURUSD"]
    assert (alpha["sharpe_ratio"], alpha["psr"], alpha["dsr"], alpha["n_trials"]) == (
        2.0,
        0.99,
        0.97,
        4,
    )
    assert alpha["holdout_verdict"] == "confirmed" and alpha["holdout"]["looks"] == 1
    assert body["data"][1]["data_set"] == "BTC-USDT 4h"
    assert body["data"][2]["holdout"] is None  # no research operation: no holdout to show


def test_experiments_sort_by_a_column_puts_missing_values_last_either_way(seeded):
    server, _ = seeded

    descending = _get(server, "/experiments", sort="-sharpe_ratio").json()["data"]
    ascending = _get(server, "/experiments", sort="sharpe_ratio").json()["data"]

    assert [row["strategy_name"] for row in descending] == ["alpha", "beta", "gamma", "delta"]
    assert [row["strategy_name"] for row in ascending] == ["gamma", "beta", "alpha", "delta"]
    by_holdout = _get(server, "/experiments", sort="-holdout_verdict").json()["data"]
    assert by_holdout[0]["strategy_name"] == "alpha"


def test_experiments_filter_by_verdict_data_set_and_status_with_paging(seeded):
    server, _ = seeded

    assert [
        r["strategy_name"] for r in _get(server, "/experiments", verdict="poor").json()["data"]
    ] == ["gamma"]
    assert [
        r["strategy_name"] for r in _get(server, "/experiments", verdict="none").json()["data"]
    ] == ["delta"]
    eurusd = _get(server, "/experiments", symbol="eurusd", timeframe="1h").json()
    assert eurusd["total_count"] == 3
    btc = _get(server, "/experiments", symbol="BTC-USDT").json()["data"]
    assert [r["strategy_name"] for r in btc] == ["gamma"]
    assert _get(server, "/experiments", status="gate_failed").json()["total_count"] == 1
    page = _get(server, "/experiments", limit=2, offset=1).json()
    assert page["total_count"] == 4
    assert [r["strategy_name"] for r in page["data"]] == ["gamma", "beta"]


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"sort": "color"}, "sort"),
        ({"verdict": "great"}, "verdict"),
        ({"status": "done"}, "status"),
    ],
)
def test_experiments_refuse_unknown_sort_verdict_and_status_naming_them(seeded, params, field):
    server, _ = seeded

    response = _get(server, "/experiments", **params)

    assert response.status_code == 422
    error = response.json()["error"]
    assert error["details"]["field"] == field
    assert next(iter(params.values())) in error["message"]


def test_experiment_detail_adds_folds_and_verdict_reason_and_404s_unknown_ids(seeded):
    server, promising = seeded

    detail = _get(server, f"/experiments/{promising}").json()["data"]
    missing = _get(server, "/experiments/op_nope")

    assert detail["folds"] == [
        {
            "fold": 1,
            "start_date": "2018-01-01",
            "end_date": None,
            "sharpe_ratio": 1.5,
            "total_return": None,
            "max_drawdown": None,
            "total_trades": None,
            "win_rate": None,
        }
    ]
    assert detail["verdict_reason"] == "dsr 0.97 >= 0.95 (4 trials)"
    assert _get(server, "/experiments/exp_b").json()["data"]["folds"] == []
    assert missing.status_code == 404
    assert missing.json()["success"] is False and "op_nope" in missing.json()["error"]["message"]


def _trial(services, operation_id: str, symbol: str, minutes: int, sharpe: float | None) -> None:
    returns = pd.Series(
        [0.001, -0.002], index=pd.date_range("2018-01-01", periods=2, freq="h", tz="UTC")
    )
    with write_transaction(services.operations.store.engine) as conn:
        conn.execute(
            evaluation_trials.insert().values(
                operation_id=operation_id,
                symbol=symbol,
                timeframe="1h",
                holdout_start=datetime(2018, 6, 1, tzinfo=UTC),
                completed_at=START + timedelta(minutes=minutes),
                strategy_name="s",
                model_path="models/s/v1",
                sharpe=sharpe,
                n_obs=2,
                skew=0.0,
                kurtosis=3.0,
                trades=7,
                returns=returns_to_parquet(returns),
            )
        )


def test_trials_list_newest_first_filtered_by_data_set_with_total_count(live_server):
    services = live_server.services
    _trial(services, "op_bt_1", "EURUSD", 1, 0.02)
    _trial(services, "op_bt_2", "EURUSD", 2, None)
    _trial(services, "op_bt_3", "GBPUSD", 3, -0.01)

    every = _get(live_server, "/trials").json()
    eurusd = _get(live_server, "/trials", symbol="eurusd", timeframe="1h", limit=1).json()

    assert [t["operation_id"] for t in every["data"]] == ["op_bt_3", "op_bt_2", "op_bt_1"]
    assert every["total_count"] == 3
    first = every["data"][2]
    assert first["sharpe"] == 0.02 and first["trades"] == 7 and first["n_obs"] == 2
    assert first["holdout_start"].startswith("2018-06-01T00:00:00")
    assert "returns" not in first
    assert eurusd["total_count"] == 2 and [t["operation_id"] for t in eurusd["data"]] == ["op_bt_2"]
    assert _get(live_server, "/trials", limit=0).status_code == 422


def test_the_page_and_every_asset_it_names_are_served_without_the_token(start_live_server):
    server = start_live_server(api_token=TOKEN)

    page = httpx.get(f"{server.base_url}/")
    assets = re.findall(r'(?:src|href)="(/static/[^"]+)"', page.text)
    scripts = [httpx.get(f"{server.base_url}{asset}") for asset in assets]
    modules = httpx.get(f"{server.base_url}/static/js/main.js").text

    assert page.status_code == 200
    assert {"/static/js/main.js", "/static/vendor/uplot/uPlot.iife.min.js"} <= set(assets)
    assert [response.status_code for response in scripts] == [200] * len(assets)
    for module in re.findall(r'from "\./([a-z]+\.js)"', modules):
        assert httpx.get(f"{server.base_url}/static/js/{module}").status_code == 200
    assert httpx.get(f"{server.base_url}/static/vendor/uplot/LICENSE").text.startswith(
        "The MIT License"
    )
    assert httpx.get(f"{server.base_url}/favicon.ico").headers["content-type"] == "image/svg+xml"
    assert httpx.get(f"{server.base_url}{API}/experiments").status_code == 401
    # An encoded "../" passes the open /static/ prefix but never leaves the static folder.
    assert httpx.get(f"{server.base_url}/static/%2e%2e/routers/page.py").status_code == 404


def test_a_multi_symbol_experiment_matches_each_of_its_symbols(live_server):
    strategy = {
        "training_data": {
            "symbols": {"mode": "multi_symbol", "list": ["EURUSD", "GBPUSD"]},
            "timeframes": {"mode": "multi_timeframe", "list": ["1h", "4h"], "base_timeframe": "1h"},
        }
    }
    ExperimentMemory(live_server.services.operations.store.engine).record(
        ExperimentRecord(
            experiment_id="exp_pair",
            created_at=START,
            strategy_name="pair",
            designer="offline",
            status="completed",
            strategy=strategy,
        )
    )

    rows = _get(live_server, "/experiments", symbol="GBPUSD", timeframe="1h").json()["data"]

    assert [(row["data_set"], row["symbols"]) for row in rows] == [
        ("EURUSD+GBPUSD 1h", ["EURUSD", "GBPUSD"])
    ]
    assert _get(live_server, "/experiments", timeframe="4h").json()["total_count"] == 0
    exact = _get(live_server, "/experiments", data_set="EURUSD+GBPUSD 1h").json()
    assert [row["experiment_id"] for row in exact["data"]] == ["exp_pair"]
    assert _get(live_server, "/experiments", data_set="EURUSD 1h").json()["total_count"] == 0
