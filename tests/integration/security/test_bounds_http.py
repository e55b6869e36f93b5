"""Findings 2, 5 and 8: bounded model sizes, seeds and decompressed imports, refused early."""

from __future__ import annotations

import io
from pathlib import Path

import httpx
import pandas as pd
import pytest
import yaml
from support.bars import random_walk_bars

import ktrdr.data.io

API = "/api/v1"
EXAMPLE = (
    Path(__file__).resolve().parents[3] / "examples" / "strategies" / "eurusd_rsi_macd_mlp.yaml"
)
VALID_STRATEGY = yaml.safe_load(EXAMPLE.read_text(encoding="utf-8"))


def validate(server, strategy: dict) -> dict:
    response = httpx.post(
        f"{server.base_url}{API}/strategies/validate",
        json={"yaml": yaml.safe_dump(strategy)},
        timeout=30,
    )
    assert response.status_code == 200
    return response.json()["data"]


@pytest.mark.parametrize(
    "model",
    [
        {"type": "mlp", "architecture": {"hidden_layers": [100_000, 100_000]}},
        {"type": "mlp", "architecture": {"hidden_layers": [8] * 1000}},
        {"type": "lstm", "architecture": {"num_layers": 300_000}},
        {"type": "mlp", "lookback": 10**9},
        {"type": "mlp", "seed": 2**70},
    ],
    ids=["wide", "deep", "lstm-300k-layers", "lookback", "seed"],
)
def test_oversized_models_and_seeds_are_invalid_strategies(live_server, model):
    strategy = {**VALID_STRATEGY, "model": model}

    result = validate(live_server, strategy)

    assert result["valid"] is False
    assert any(issue["path"].startswith("model") for issue in result["issues"])


@pytest.mark.parametrize("route", ["/training/start", "/agent/trigger"])
def test_a_seed_beyond_32_bits_is_a_422(live_server, route):
    response = httpx.post(
        f"{live_server.base_url}{API}{route}", json={"strategy": "x", "seed": 2**70}, timeout=30
    )

    assert response.status_code == 422


def test_a_parquet_file_with_too_many_rows_is_refused_from_its_footer(live_server, monkeypatch):
    monkeypatch.setattr(ktrdr.data.io, "MAX_ROWS", 1_000)
    buffer = io.BytesIO()
    random_walk_bars(5_000).to_parquet(buffer)

    response = httpx.post(
        f"{live_server.base_url}{API}/data/import",
        params={"symbol": "BOMB", "timeframe": "1h", "filename": "bomb.parquet"},
        content=buffer.getvalue(),
        headers={"Content-Type": "application/octet-stream"},
        timeout=30,
    )

    assert response.status_code == 413
    assert response.json()["error"]["details"]["rows"] == 5_000
    listed = httpx.get(f"{live_server.base_url}{API}/data").json()["data"]
    assert all(row["symbol"] != "BOMB" for row in listed)


def test_a_parquet_file_within_the_limits_imports(live_server):
    buffer = io.BytesIO()
    random_walk_bars(500).to_parquet(buffer)

    response = httpx.post(
        f"{live_server.base_url}{API}/data/import",
        params={"symbol": "OK", "timeframe": "1h", "filename": "ok.parquet"},
        content=buffer.getvalue(),
        headers={"Content-Type": "application/octet-stream"},
        timeout=30,
    )

    assert response.status_code == 200, response.text
    assert isinstance(pd.Timestamp(response.json()["data"]["first"]), pd.Timestamp)
