"""Idle memory and start-up time of a real ``ktrdr serve``: the API process must not load torch.

Starts ``python -m ktrdr.cli.main serve`` on a free port with a temporary KTRDR_HOME, times
process start → first 200 from /api/v1/health, waits for the process to settle, then reads the
server's resident memory (VmRSS) and that of its worker processes from /proc. ``--baseline DIR``
runs the same against another checkout (e.g. ``git worktree add /tmp/base edbe378``) in the
same run and reports the ratio.
"""

from __future__ import annotations

import argparse
import os
import shlex
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
from _common import RESULTS_DIR, describe_machine, machine_markdown, markdown_table

REPO = Path(__file__).resolve().parent.parent
SETTLE_SECONDS = 3.0  # let the lifespan's background tasks and the worker pool start


def free_port() -> int:
    """A TCP port nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def rss_mib(pid: int) -> float:
    """Resident memory of process ``pid`` in MiB (VmRSS)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def children(pid: int) -> list[int]:
    """Direct child processes of ``pid`` (the executor's workers)."""
    path = Path(f"/proc/{pid}/task/{pid}/children")
    return [int(p) for p in path.read_text().split()] if path.exists() else []


def measure(checkout: Path) -> dict[str, float]:
    """Start ``ktrdr serve`` from ``checkout`` once; start-up seconds and idle RSS figures."""
    with tempfile.TemporaryDirectory(prefix="ktrdr-serve-bench-") as home:
        port = free_port()
        env = {
            **os.environ,
            "PYTHONPATH": str(checkout),
            "KTRDR_HOME": home,
            "KTRDR_LOG_LEVEL": "WARNING",
        }
        env.pop("KTRDR_DATABASE_URL", None)
        started = time.perf_counter()
        process = subprocess.Popen(
            [sys.executable, "-m", "ktrdr.cli.main", "serve", "--port", str(port)],
            cwd=checkout,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            url = f"http://127.0.0.1:{port}/api/v1/health"
            while True:
                if process.poll() is not None:
                    raise RuntimeError(f"ktrdr serve from {checkout} exited {process.returncode}")
                try:
                    if httpx.get(url, timeout=1.0).status_code == 200:
                        break
                except httpx.TransportError:
                    time.sleep(0.02)
            startup = time.perf_counter() - started
            time.sleep(SETTLE_SECONDS)
            workers = children(process.pid)
            return {
                "startup_s": startup,
                "server_mib": rss_mib(process.pid),
                "workers": len(workers),
                "workers_mib": sum(rss_mib(pid) for pid in workers),
            }
        finally:
            process.terminate()
            process.wait(timeout=60)


def best_of(checkout: Path, runs: int) -> dict[str, float]:
    """The fastest start-up and the smallest idle RSS of ``runs`` starts."""
    samples = [measure(checkout) for _ in range(runs)]
    return {key: min(s[key] for s in samples) for key in samples[0]}


def main() -> None:
    """Measure this checkout (and a baseline, if given) and write the report."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--baseline", type=Path, help="another checkout to measure the same way")
    parser.add_argument("--baseline-label", default="baseline")
    args = parser.parse_args()
    measured = {"this checkout": best_of(REPO, args.runs)}
    if args.baseline:
        measured[args.baseline_label] = best_of(args.baseline.resolve(), args.runs)
    rows = [
        [
            label,
            f"{m['startup_s']:.2f} s",
            f"{m['server_mib']:.0f} MiB",
            f"{int(m['workers'])} ({m['workers_mib']:.0f} MiB)",
        ]
        for label, m in measured.items()
    ]
    table = markdown_table(["code", "start → /health 200", "idle server RSS", "workers"], rows)
    ratio = ""
    if args.baseline:
        new, old = measured["this checkout"], measured[args.baseline_label]
        ratio = (
            f"\nServer RSS {old['server_mib'] / new['server_mib']:.1f}× smaller, start-up "
            f"{old['startup_s'] / new['startup_s']:.1f}× faster than {args.baseline_label}.\n"
        )
    command = "PYTHONPATH=. .venv/bin/python benchmarks/server_startup.py " + shlex.join(
        sys.argv[1:]
    )
    report = f"""# Server start-up: idle `ktrdr serve`

`{command.strip()}` — best of {args.runs} starts each: process start → first 200 from
`/api/v1/health`, then VmRSS after {SETTLE_SECONDS:.0f} s idle (SQLite, temp KTRDR_HOME, default
workers). Target: idle server ≤ 200 MB.

{table}
{ratio}
Machine:
{machine_markdown(describe_machine(("fastapi", "uvicorn", "torch")))}
"""
    RESULTS_DIR.mkdir(exist_ok=True)
    (RESULTS_DIR / "server_startup.md").write_text(report)
    print(report)


if __name__ == "__main__":
    main()
