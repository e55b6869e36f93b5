"""POST /data/import against a real `ktrdr serve`: every import operation ends terminal."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from support.server import ServerProcess

HEADER = "timestamp,open,high,low,close,volume\n"
GOOD_ROWS = "".join(f"2020-01-01 {hour:02d}:00,1,2,0.5,1.5,10\n" for hour in range(24))


@pytest.fixture
def serve(tmp_path: Path) -> Iterator[ServerProcess]:
    running = ServerProcess(tmp_path, KTRDR_WORKERS="1").start()
    yield running
    running.stop()


def _import(server: ServerProcess, filename: str, body: str):
    return server.client.post(
        "/data/import",
        params={"symbol": "NULTEST", "timeframe": "1h", "filename": filename},
        content=body.encode(),
    )


def test_bad_uploads_are_4xx_and_leave_no_import_running(serve: ServerProcess) -> None:
    nul_name = _import(serve, "bars\x00.csv", HEADER + GOOD_ROWS)
    bad_row = _import(serve, "bars.csv", HEADER + "2020-01-01 00:00,1,abc,0.5,1.5,10\n")
    good = _import(serve, "bars.csv", HEADER + GOOD_ROWS)

    assert nul_name.status_code == 422
    assert "NUL" in nul_name.json()["error"]["message"]
    assert bad_row.status_code == 422
    assert good.status_code == 200, good.text
    imports = serve.get("/operations", operation_type="data_import")["data"]
    assert sorted(op["status"] for op in imports) == ["completed", "failed"]
    failed = next(op for op in imports if op["status"] == "failed")
    assert failed["error_message"] == bad_row.json()["error"]["message"]
    stored = next(d for d in serve.get("/data")["data"] if d["symbol"] == "NULTEST")
    assert stored["bars"] == 24
