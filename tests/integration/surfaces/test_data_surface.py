"""GET /data, POST /data/import and ``ktrdr data list|import`` against a real server."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from pathlib import Path

import httpx
from integration.conftest import make_settings, run_live_server
from integration.surfaces.conftest import run_cli

HEADER = "timestamp,open,high,low,close,volume\n"
BUNDLED = {("BTCUSD", "1h"), ("EURUSD", "1h"), ("GOOG", "1d"), ("NASDAQ", "1d"), ("SP500", "1d")}

CSV = {"Content-Type": "text/csv"}  # uploads name their type (a cross-site guard)


def csv_text(hours: int, bad_row: int | None = None) -> str:
    """Hourly bars from 2020-01-01 00:00; row ``bad_row`` (1-based) has high 'abc'."""
    start = datetime(2020, 1, 1)
    rows = [
        f"{start + timedelta(hours=h):%Y-%m-%d %H:%M},1.0,"
        f"{'abc' if h + 1 == bad_row else '2.0'},0.5,1.5,10\n"
        for h in range(hours)
    ]
    return HEADER + "".join(rows)


def test_data_list_shows_the_bundled_sets(plain_server):
    table = run_cli(plain_server.base_url, "data", "list")
    raw = run_cli(plain_server.base_url, "data", "list", "--json")

    assert table.exit_code == 0, table.output
    eurusd = next(line for line in table.stdout.splitlines() if "EURUSD" in line)
    assert "1h" in eurusd
    assert "5,000" in eurusd
    assert "2017-04-19 09:00:00" in eurusd
    assert "bundled" in eurusd
    datasets = json.loads(raw.stdout)["data"]
    assert {(d["symbol"], d["timeframe"]) for d in datasets} >= BUNDLED
    eurusd_json = next(d for d in datasets if d["symbol"] == "EURUSD")
    assert eurusd_json == {
        "symbol": "EURUSD",
        "timeframe": "1h",
        "bars": 5000,
        "first": "2017-04-19T09:00:00+00:00",
        "last": "2018-02-07T15:00:00+00:00",
        "source": "bundled",
        "provenance": None,
    }


def test_import_a_csv_then_list_shows_it_and_a_completed_operation(plain_server, tmp_path):
    path = tmp_path / "small.csv"
    path.write_text(csv_text(24))

    imported = run_cli(
        plain_server.base_url, "data", "import", str(path), "--symbol", "tiny", "--timeframe", "1h"
    )
    listed = run_cli(plain_server.base_url, "data", "list")
    operations = run_cli(plain_server.base_url, "operations", "list", "--type", "data_import")

    assert imported.exit_code == 0, imported.output
    assert "imported 24 TINY 1h bars" in imported.stdout
    assert "small.csv" in imported.stdout
    tiny = next(line for line in listed.stdout.splitlines() if "TINY" in line)
    assert "24" in tiny
    assert "imported" in tiny
    assert "2020-01-01 23:00:00" in tiny
    assert "completed" in operations.stdout


def test_a_bad_csv_is_one_line_naming_the_row_and_keeps_the_stored_data(plain_server, tmp_path):
    good, bad = tmp_path / "good.csv", tmp_path / "broken.csv"
    good.write_text(csv_text(12))
    bad.write_text(csv_text(30, bad_row=7))
    base = plain_server.base_url
    assert run_cli(base, "data", "import", str(good), "--symbol", "KEEP", "--timeframe", "1h")
    before = plain_server.services.data.load("KEEP", "1h")

    result = run_cli(base, "data", "import", str(bad), "--symbol", "KEEP", "--timeframe", "1h")

    assert result.exit_code == 1
    assert result.stdout == ""
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1
    assert lines[0].startswith("error: broken.csv: row 7")
    assert "high 'abc' is not a number" in lines[0]
    after = plain_server.services.data.load("KEEP", "1h")
    assert after.equals(before)
    failed = plain_server.services.operations.list(operation_type="data_import", status="failed")
    assert any("broken.csv: row 7" in (op.error_message or "") for op in failed.items)


def test_import_of_a_missing_file_names_it(plain_server, tmp_path):
    missing = tmp_path / "nowhere.csv"

    result = run_cli(
        plain_server.base_url, "data", "import", str(missing), "--symbol", "X", "--timeframe", "1h"
    )

    assert result.exit_code == 1
    assert result.stderr.strip() == f"error: {missing}: no such file"


def test_import_api_refuses_an_unknown_file_type_and_an_empty_body(plain_server):
    url = f"{plain_server.base_url}/api/v1/data/import"
    params = {"symbol": "X", "timeframe": "1h"}

    wrong_type = httpx.post(
        url, params={**params, "filename": "bars.xlsx"}, content=b"x", headers=CSV
    )
    empty = httpx.post(url, params={**params, "filename": "bars.csv"}, content=b"", headers=CSV)
    bad_timeframe = httpx.post(url, params={**params, "timeframe": "7h"}, content=b"x", headers=CSV)

    assert wrong_type.status_code == 422
    assert "allowed: .csv, .parquet, .pq" in wrong_type.json()["error"]["message"]
    assert empty.status_code == 422
    assert "body is empty" in empty.json()["error"]["message"]
    assert bad_timeframe.status_code == 422
    assert "unknown timeframe '7h'" in bad_timeframe.json()["error"]["message"]


def test_the_import_route_has_its_own_body_limit(tmp_path: Path):
    settings = make_settings(tmp_path / "home", max_request_bytes=1024, max_upload_bytes=4096)
    body = csv_text(60).encode()  # about 2.2 KB: over the general limit, under the upload one
    with run_live_server(settings) as server:
        api = f"{server.base_url}/api/v1"
        imported = httpx.post(
            f"{api}/data/import",
            params={"symbol": "BIG", "timeframe": "1h", "filename": "big.csv"},
            content=body,
            headers=CSV,
        )
        elsewhere = httpx.post(
            f"{api}/strategies/validate", content=body, headers={"Content-Type": "application/json"}
        )
        too_big = httpx.post(
            f"{api}/data/import",
            params={"symbol": "BIG", "timeframe": "1h", "filename": "big.csv"},
            content=body * 2,
            headers=CSV,
        )

    assert len(body) > 1024
    assert imported.status_code == 200, imported.text
    assert imported.json()["data"]["bars"] == 60
    assert imported.json()["operation_id"].startswith("op_data_import_")
    assert elsewhere.status_code == 413
    assert "KTRDR_MAX_REQUEST_BYTES" in elsewhere.json()["error"]["message"]
    assert too_big.status_code == 413
    assert "KTRDR_MAX_UPLOAD_BYTES" in too_big.json()["error"]["message"]
