"""Load: 200 concurrent loopback clients poll the API for 30 s while two research cycles run.

A ``ktrdr serve`` subprocess (SQLite, 2 workers, up to 2 concurrent cycles) runs two cycles of a
small EURUSD strategy with many epochs, so both are training throughout. Each client (its own
connection) polls ``GET /agent/status``, ``GET /operations`` and ``GET /operations/{id}`` in
turn. Any non-200 answer or transport error counts as an error. Writes
``benchmarks/results/load.md``. Run from the repository root:

    PYTHONPATH=. .venv/bin/python benchmarks/load.py [--clients 200] [--seconds 30]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import yaml

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import RESULTS_DIR, describe_machine, machine_markdown, markdown_table

from ktrdr.strategy import load_strategy, strategy_to_dict

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE = ROOT / "examples" / "strategies" / "eurusd_rsi_macd_mlp.yaml"
LENIENT_GATES = {
    "training_min_accuracy": 0.0,
    "training_max_loss": 100.0,
    "training_min_skill": -1.0,
    "training_min_log_loss_skill": -100.0,
}
ENDPOINTS = ("/agent/status", "/operations", "/operations/{id}")


def free_port() -> int:
    """A loopback port nothing listens on now."""
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def write_strategy(home: Path, name: str, epochs: int) -> None:
    """The EURUSD example with a tiny model trained for ``epochs`` epochs."""
    data = strategy_to_dict(load_strategy(EXAMPLE))
    data["name"] = name
    data["model"]["architecture"]["hidden_layers"] = [8]
    data["training"].update({"epochs": epochs, "early_stopping": {"patience": epochs}})
    (home / "strategies").mkdir(parents=True, exist_ok=True)
    (home / "strategies" / f"{name}.yaml").write_text(yaml.safe_dump(data, sort_keys=False))


def start_server(home: Path, port: int) -> subprocess.Popen[bytes]:
    """``ktrdr serve`` on ``port`` with ``home``; returns once /health answers."""
    env = {
        **os.environ,
        "KTRDR_HOME": str(home),
        "KTRDR_WORKERS": "2",
        "KTRDR_AGENT_MAX_CONCURRENT_RESEARCHES": "2",
        "KTRDR_AGENT_POLL_INTERVAL": "0.2",
        "KTRDR_LOG_LEVEL": "WARNING",
    }
    env.pop("KTRDR_DATABASE_URL", None)
    log = open(home / "server.log", "wb")  # noqa: SIM115
    process = subprocess.Popen(
        [sys.executable, "-m", "ktrdr.cli.main", "serve", "--port", str(port)],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/api/v1/health").status_code == 200:
                return process
        except httpx.TransportError:
            time.sleep(0.2)
    process.kill()
    raise RuntimeError(f"server did not start; see {log.name}")


async def client(
    base: str, op_ids: list[str], until: float, index: int, samples: list[tuple[str, float, bool]]
) -> None:
    """One loopback client on its own connection, polling the three endpoints in turn."""
    limits = httpx.Limits(max_connections=1)
    async with httpx.AsyncClient(base_url=base, limits=limits, timeout=60.0) as http:
        turn = index
        while time.monotonic() < until:
            endpoint = ENDPOINTS[turn % len(ENDPOINTS)]
            path = endpoint.replace("{id}", op_ids[turn % len(op_ids)])
            turn += 1
            start = time.perf_counter()
            try:
                ok = (await http.get(path)).status_code == 200
            except httpx.HTTPError:
                ok = False
            samples.append((endpoint, time.perf_counter() - start, ok))


async def hammer(base: str, op_ids: list[str], clients: int, seconds: float) -> list[Any]:
    """Run ``clients`` pollers for ``seconds``; (endpoint, latency, ok) per request."""
    samples: list[tuple[str, float, bool]] = []
    until = time.monotonic() + seconds
    await asyncio.gather(*(client(base, op_ids, until, i, samples) for i in range(clients)))
    return samples


def summarise(samples: list[tuple[str, float, bool]], seconds: float) -> list[list[Any]]:
    """One row per endpoint plus 'all': requests, errors, req/s, p50 and p99 in ms."""
    rows = []
    for name in (*ENDPOINTS, "all"):
        chosen = [s for s in samples if name in ("all", s[0])]
        latencies = np.array([s[1] for s in chosen]) * 1000
        errors = sum(1 for s in chosen if not s[2])
        rows.append(
            [
                f"`GET {name}`" if name != "all" else "**all**",
                len(chosen),
                errors,
                f"{len(chosen) / seconds:.0f}",
                f"{np.percentile(latencies, 50):.1f}",
                f"{np.percentile(latencies, 99):.1f}",
            ]
        )
    return rows


def main() -> None:
    """Start the server and two cycles, poll under load, write the report."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--clients", type=int, default=200)
    parser.add_argument("--seconds", type=float, default=30.0)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="ktrdr-load-") as folder:
        home = Path(folder) / "home"
        for name in ("load_a", "load_b"):
            write_strategy(home, name, epochs=2000)
        port = free_port()
        base = f"http://127.0.0.1:{port}/api/v1"
        server = start_server(home, port)
        try:
            research = [
                httpx.post(
                    f"{base}/agent/trigger", json={"strategy": name, "gates": LENIENT_GATES}
                ).json()["operation_id"]
                for name in ("load_a", "load_b")
            ]
            active_before = len(httpx.get(f"{base}/agent/status").json()["active_researches"])
            samples = asyncio.run(hammer(base, research, args.clients, args.seconds))
            active_after = len(httpx.get(f"{base}/agent/status").json()["active_researches"])
            for op_id in research:
                httpx.delete(f"{base}/agent/cancel/{op_id}")
        finally:
            server.terminate()
            server.wait(timeout=60)
    write_report(samples, args, active_before, active_after)


def write_report(samples: list[Any], args: argparse.Namespace, before: int, after: int) -> None:
    """benchmarks/results/load.md."""
    rows = summarise(samples, args.seconds)
    headers = ["endpoint", "requests", "errors", "req/s", "p50 ms", "p99 ms"]
    title = f"{args.clients} concurrent clients for {args.seconds:.0f} s during two cycles"
    report = f"""# Load: {title}

`PYTHONPATH=. .venv/bin/python benchmarks/load.py` — one `ktrdr serve` process (uvicorn, SQLite,
2 local workers), two research cycles training throughout (active cycles: {before} at the start,
{after} at the end). {args.clients} asyncio + httpx clients, one connection each, poll
`/agent/status`, `/operations` and `/operations/{{id}}` in turn on the loopback interface, with no
pause between requests. An error is any transport failure or non-200 answer.

{markdown_table(headers, rows)}

The clients form a closed loop, so mean latency is about clients ÷ throughput (Little's law).
The latencies above are mostly time spent queueing for CPU, which the API process, two workers
training at full speed and the {args.clients} client coroutines all share. They measure what
this machine can do under that mix, not the cost of a single request.

Machine:
{machine_markdown(describe_machine(("fastapi", "uvicorn", "sqlalchemy")))}
"""
    RESULTS_DIR.mkdir(exist_ok=True)
    (RESULTS_DIR / "load.md").write_text(report)
    print(report)


if __name__ == "__main__":
    main()
