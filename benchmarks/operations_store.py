"""Benchmark the operations store and API on 100,000 operations in SQLite, against bare peers.

(a) One page of 50 operations filtered by type through ``OperationsService.list`` (rows, models
    and ``total_count``), against the same two SQL statements on a bare ``sqlite3`` connection.
(b) ``GET /api/v1/operations/{id}`` from 50 concurrent loopback clients (asyncio + httpx) on a
    ``ktrdr serve`` subprocess, against a minimal FastAPI endpoint returning a static dict of the
    same operation, served by uvicorn the same way. Run from the repository root:

    PYTHONPATH=. .venv/bin/python benchmarks/operations_store.py
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import numpy as np
from sqlalchemy import insert

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import RESULTS_DIR, describe_machine, machine_markdown, markdown_table

from ktrdr.operations import OperationsService, OperationsStore, OperationType
from ktrdr.operations.schema import operations as operations_table

ROOT = Path(__file__).resolve().parent.parent
COMMAND = "PYTHONPATH=. .venv/bin/python benchmarks/operations_store.py"
OPERATIONS = 100_000
INSERT_CHUNK = 5_000
PAGE_SIZE = 50
LIST_CALLS = 300
CLIENTS = 50
REQUESTS = 6_000
SEQUENTIAL_REQUESTS = 1_500
WARMUP_REQUESTS = 600
SAMPLE_IDS = 2_000
SEED = 7
LIST_TARGET_P95_MS = 20.0
GET_TARGET_P99_MS = 10.0
SERVER_START_TIMEOUT = 60.0
STATUSES = ("completed", "completed", "completed", "failed", "cancelled", "running")
LIST_SQL = (
    "SELECT * FROM operations WHERE operation_type = ? "
    "ORDER BY created_at DESC, operation_id DESC LIMIT ? OFFSET 0"
)
COUNT_SQL = "SELECT count(*) FROM operations WHERE operation_type = ?"


def _row(index: int, start: datetime, rng: random.Random) -> dict[str, Any]:
    """One stored operation, shaped as OperationsStore writes it (progress and metadata JSON)."""
    kind = list(OperationType)[index % len(OperationType)]
    created = start + timedelta(seconds=index)
    status = STATUSES[index % len(STATUSES)]
    finished = status != "running"
    return {
        "operation_id": f"op_{kind.value}_{created:%Y%m%d_%H%M%S}_{rng.getrandbits(32):08x}",
        "operation_type": kind.value,
        "status": status,
        "parent_operation_id": None,
        "created_at": created,
        "started_at": created + timedelta(seconds=1),
        "completed_at": created + timedelta(seconds=90) if finished else None,
        "updated_at": created + timedelta(seconds=90),
        "progress": {
            "percentage": 100.0 if finished else 42.0,
            "current_step": "epoch 10/10" if finished else "epoch 4/10",
            "items_done": 10 if finished else 4,
            "items_total": 10,
            "context": {},
        },
        "op_metadata": {
            "symbol": "EURUSD",
            "timeframe": "1h",
            "start_date": "2020-01-01",
            "end_date": "2023-12-31",
            "parameters": {"strategy": f"momentum_{index % 97}", "seed": index},
        },
        "result_summary": {"accuracy": 0.55, "loss": 0.91} if status == "completed" else None,
        "error_message": "cancelled by user" if status == "cancelled" else None,
    }


def populate(store: OperationsStore) -> list[str]:
    """Insert OPERATIONS rows with core inserts in chunks; a random sample of their ids."""
    rng = random.Random(SEED)
    start = datetime(2025, 1, 1, tzinfo=UTC)
    ids: list[str] = []
    for chunk_start in range(0, OPERATIONS, INSERT_CHUNK):
        rows = [_row(i, start, rng) for i in range(chunk_start, chunk_start + INSERT_CHUNK)]
        with store.engine.begin() as conn:
            conn.execute(insert(operations_table), rows)
        ids += [row["operation_id"] for row in rows]
    return rng.sample(ids, SAMPLE_IDS)


def percentiles_ms(seconds: list[float]) -> dict[str, float]:
    """p50/p95/p99 of ``seconds`` in milliseconds."""
    values = np.asarray(seconds) * 1000.0
    return {f"p{q}": float(np.percentile(values, q)) for q in (50, 95, 99)}


def time_calls(function: Callable[[int], Any], calls: int) -> list[float]:
    """Wall time of each ``function(i)`` for i in range(calls), after one warm-up call."""
    function(0)
    durations = []
    for i in range(calls):
        started = time.perf_counter()
        function(i)
        durations.append(time.perf_counter() - started)
    return durations


def bench_list(service: OperationsService, database: Path) -> tuple[dict, dict]:
    """(a): service.list page of 50 by type vs the same SQL on bare sqlite3."""
    kinds = [kind.value for kind in OperationType]

    def ktrdr_list(i: int) -> None:
        page = service.list(operation_type=kinds[i % len(kinds)], limit=PAGE_SIZE)
        assert len(page.items) == PAGE_SIZE

    connection = sqlite3.connect(database)

    def bare_list(i: int) -> None:
        kind = kinds[i % len(kinds)]
        rows = connection.execute(LIST_SQL, (kind, PAGE_SIZE)).fetchall()
        connection.execute(COUNT_SQL, (kind,)).fetchone()
        assert len(rows) == PAGE_SIZE

    ours = percentiles_ms(time_calls(ktrdr_list, LIST_CALLS))
    peer = percentiles_ms(time_calls(bare_list, LIST_CALLS))
    connection.close()
    return ours, peer


def free_port() -> int:
    """A loopback port nobody listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start_server(command: list[str], env: dict[str, str], port: int) -> subprocess.Popen:
    """Start a server subprocess and wait (with a deadline) until it answers on ``port``."""
    process = subprocess.Popen(command, env=env, cwd=ROOT, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + SERVER_START_TIMEOUT
    while time.monotonic() < deadline and process.poll() is None:
        try:
            httpx.get(f"http://127.0.0.1:{port}/api/v1/health", timeout=1.0)
            return process
        except httpx.TransportError:
            time.sleep(0.1)
    process.kill()
    raise RuntimeError(f"server {command} did not start on port {port}")


async def _load(
    base_url: str, ids: list[str], requests: int, clients: int
) -> tuple[list[float], float]:
    """``clients`` concurrent loops sharing ``requests`` GETs; per-request latency and wall time."""
    latencies: list[float] = []
    remaining = iter(range(requests))
    # One client (one keep-alive connection) per loop: a shared httpx pool of 50 connections
    # is itself the bottleneck (measured: 3x lower throughput, p99 ~2 s, on a static endpoint).
    limits = httpx.Limits(max_connections=1)
    connections = [httpx.AsyncClient(base_url=base_url, limits=limits) for _ in range(clients)]

    async def loop(client: httpx.AsyncClient) -> None:
        for i in remaining:
            started = time.perf_counter()
            response = await client.get(f"/api/v1/operations/{ids[i % len(ids)]}")
            latencies.append(time.perf_counter() - started)
            if response.status_code != 200:
                raise RuntimeError(f"GET answered {response.status_code}: {response.text}")

    started = time.perf_counter()
    try:
        await asyncio.gather(*(loop(client) for client in connections))
    finally:
        await asyncio.gather(*(client.aclose() for client in connections))
    return latencies, time.perf_counter() - started


def measure_get(base_url: str, ids: list[str], clients: int, requests: int) -> dict[str, float]:
    """Warm up, then load the server; percentiles in ms plus requests per second."""
    asyncio.run(_load(base_url, ids, WARMUP_REQUESTS, clients))
    latencies, wall = asyncio.run(_load(base_url, ids, requests, clients))
    return {**percentiles_ms(latencies), "rps": requests / wall}


def bench_get(home: Path, ids: list[str], static_operation: dict[str, Any]) -> list[dict]:
    """(b): GET /operations/{id} on `ktrdr serve` vs a minimal FastAPI endpoint.

    Figures, in order: ktrdr with 1 client, ktrdr with CLIENTS, peer with 1, peer with CLIENTS.
    """
    env = {**os.environ, "PYTHONPATH": str(ROOT), "KTRDR_HOME": str(home)}
    env.update({"KTRDR_LOG_LEVEL": "WARNING", "KTRDR_API_TOKEN": ""})
    env.pop("KTRDR_DATABASE_URL", None)
    results = []
    for command in (
        [sys.executable, "-m", "ktrdr.cli.main", "serve", "--port"],
        [sys.executable, __file__, "--peer-server", json.dumps(static_operation), "--port"],
    ):
        port = free_port()
        process = start_server([*command, str(port)], env, port)
        try:
            base_url = f"http://127.0.0.1:{port}"
            results.append(measure_get(base_url, ids, 1, SEQUENTIAL_REQUESTS))
            results.append(measure_get(base_url, ids, CLIENTS, REQUESTS))
        finally:
            process.terminate()
            process.wait(timeout=30)
    return results


def serve_peer(operation_json: str, port: int) -> None:
    """The peer: one FastAPI GET returning a static envelope, on uvicorn like `ktrdr serve`."""
    import uvicorn
    from fastapi import FastAPI

    app = FastAPI()
    static = {"success": True, "data": json.loads(operation_json)}

    @app.get("/api/v1/health")
    def health() -> dict[str, Any]:
        return {"success": True}

    @app.get("/api/v1/operations/{operation_id}")
    def get_operation(operation_id: str) -> dict[str, Any]:
        return static

    uvicorn.run(app, host="127.0.0.1", port=port, log_level="warning", access_log=False)


def report(list_figures: tuple[dict, dict], get_figures: list[dict], load: str) -> str:
    """The markdown report: machine, command, setup and the figures against target and peer."""
    (list_ours, list_peer), (get_one, get_many, peer_one, peer_many) = list_figures, get_figures
    headers = ["case", "ktrdr p50 ms", "ktrdr tail ms", "target", "met", "peer"]
    headers += ["peer p50 ms", "peer tail ms", "ratio p50", "ratio tail"]
    sqlite_peer = "bare sqlite3, same SQL + count"
    fastapi_peer = "minimal FastAPI, static dict"
    rows = [
        _row_cells(
            f"(a) list {PAGE_SIZE} by type, {LIST_CALLS} calls",
            list_ours,
            list_peer,
            "p95",
            f"p95 < {LIST_TARGET_P95_MS:g} ms",
            sqlite_peer,
        ),
        _row_cells(
            f"(b) GET /operations/{{id}}, 1 client, {SEQUENTIAL_REQUESTS} req",
            get_one,
            peer_one,
            "p99",
            "-",
            fastapi_peer,
        ),
        _row_cells(
            f"(b) GET /operations/{{id}}, {CLIENTS} clients, {REQUESTS} req",
            get_many,
            peer_many,
            "p99",
            f"p99 < {GET_TARGET_P99_MS:g} ms",
            fastapi_peer,
        ),
    ]
    throughput = (
        f"Throughput in (b), 1 / {CLIENTS} clients: ktrdr {get_one['rps']:,.0f} / "
        f"{get_many['rps']:,.0f} req/s; "
        f"peer {peer_one['rps']:,.0f} / {peer_many['rps']:,.0f} req/s."
    )
    machine = describe_machine(("sqlalchemy", "fastapi", "starlette", "uvicorn", "httpx"))
    machine["load average (1 min) before / after"] = load
    setup = (
        f"{OPERATIONS:,} operations in SQLite (WAL), six types, inserted with core inserts. "
        "(a) times the whole `OperationsService.list` call (page rows -> `Operation` models + "
        "`total_count`); the peer runs the same two statements on a bare `sqlite3` connection "
        f"and fetches tuples. (b) 1 or {CLIENTS} concurrent asyncio loops, each with its own "
        "`httpx.AsyncClient` keep-alive connection, on the same machine as the server, request "
        f"random ids out of {SAMPLE_IDS:,} after {WARMUP_REQUESTS} warm-up requests. The server "
        "is `ktrdr serve` (one uvicorn worker, KTRDR_LOG_LEVEL=WARNING: no access log); the peer "
        "is a sync FastAPI route returning a static envelope of the same operation on the same "
        "uvicorn. Latency is measured in the client, so with 50 clients it includes queueing "
        "behind the other 49 and the clients' own CPU. Tail = p95 for (a), p99 for (b)."
    )
    return "\n\n".join(
        [
            "# Operations store and API: ktrdr vs bare peers",
            "## Machine\n\n" + machine_markdown(machine),
            f"## Command\n\n    {COMMAND}",
            f"## Setup\n\n{setup}",
            "## Results\n\n" + markdown_table(headers, rows) + "\n\n" + throughput,
        ]
    )


def _row_cells(
    name: str, ours: dict, peer: dict, tail: str, target: str, peer_name: str
) -> list[str]:
    limit = float(target.split("<")[1].split()[0]) if "<" in target else None
    met = "-" if limit is None else ("yes" if ours[tail] < limit else "no")
    return [
        name,
        f"{ours['p50']:.2f}",
        f"{ours[tail]:.2f} ({tail})",
        target,
        met,
        peer_name,
        f"{peer['p50']:.2f}",
        f"{peer[tail]:.2f}",
        f"{ours['p50'] / peer['p50']:.1f}x",
        f"{ours[tail] / peer[tail]:.1f}x",
    ]


def main() -> None:
    """Populate, measure (a) and (b), print the report and write it to results/."""
    load_before = os.getloadavg()[0]
    with tempfile.TemporaryDirectory(prefix="ktrdr_bench_ops_") as tmp:
        home = Path(tmp)
        database = home / "ktrdr.db"
        store = OperationsStore.from_url(f"sqlite:///{database}")
        service = OperationsService(store)
        started = time.perf_counter()
        ids = populate(store)
        print(
            f"inserted {OPERATIONS:,} operations in {time.perf_counter() - started:.1f}s",
            file=sys.stderr,
        )
        list_figures = bench_list(service, database)
        static_operation = service.get(ids[0]).model_dump(mode="json")
        store.dispose()
        get_figures = bench_get(home, ids, static_operation)
    text = report(list_figures, get_figures, f"{load_before:.1f} / {os.getloadavg()[0]:.1f}")
    print(text)
    RESULTS_DIR.mkdir(exist_ok=True)
    (RESULTS_DIR / "operations_store.md").write_text(text + "\n")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--peer-server", metavar="OPERATION_JSON", help=argparse.SUPPRESS)
    parser.add_argument("--port", type=int, help=argparse.SUPPRESS)
    arguments = parser.parse_args()
    if arguments.peer_server:
        serve_peer(arguments.peer_server, arguments.port)
    else:
        main()
