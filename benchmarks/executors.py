"""Benchmark the executors: the same backtests and trainings through the LocalExecutor and
through Ray on this machine, and research-cycle throughput with 1 and 2 worker processes.

Per executor (local: KTRDR_WORKERS=2 spawned processes; ray: a local Ray started by the
executor with 2 CPUs), after one warm-up job of each kind:
- batch: 20 backtests (then 4 trainings) submitted at once; total wall time until the last
  operation ends, and jobs per second;
- latency: 5 backtests (3 trainings) one after another; the mean time from submit to
  completed, minus the same job run in-process (``direct``) = the per-job overhead.
Cycles: 4 research cycles triggered at once (KTRDR_AGENT_MAX_CONCURRENT_RESEARCHES=4) on a
tiny strategy, with 1 and then 2 worker processes (local) / CPUs (Ray); cycles per minute.
Run from the repository root:

    .venv/bin/python benchmarks/executors.py [--backtests 20] [--trainings 4] [--cycles 4]
"""

from __future__ import annotations

import argparse
import os
import secrets
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import RESULTS_DIR, describe_machine, machine_markdown, markdown_table

from ktrdr.api.services import Services, build_services
from ktrdr.backtesting.job import run_backtest_job
from ktrdr.execution.artifacts import ArtifactSink, using_sink
from ktrdr.operations import Operation
from ktrdr.settings import Settings, reset_settings
from ktrdr.strategy import load_strategy, strategy_to_dict
from ktrdr.training.job import run_training_job

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "examples" / "strategies" / "eurusd_rsi_macd_mlp.yaml"
STRATEGY = "bench_executors"
CYCLE_STRATEGY = "bench_cycles"  # 40 epochs: the jobs, not the orchestrator's polls, dominate
LENIENT_GATES = {
    "training_min_accuracy": 0.0,
    "training_max_loss": 100.0,
    "training_min_loss_decrease": -100.0,
    "training_min_skill": -1.0,
    "training_min_log_loss_skill": -100.0,
    "backtest_min_trades": 0,
    "backtest_min_win_rate": 0.0,
    "backtest_max_drawdown": 1.0,
    "backtest_min_sharpe": -1000.0,
}
BACKTEST_RANGE = {"start_date": "2018-01-01", "end_date": "2018-06-30"}
TIMEOUT = 600.0


@dataclass
class Batch:
    """One kind of job through one executor."""

    executor: str
    kind: str
    jobs: int
    wall: float
    latencies: list[float] = field(default_factory=list)
    direct: float = 0.0

    @property
    def overhead(self) -> float:
        return statistics.mean(self.latencies) - self.direct


@dataclass
class Cycles:
    """Research cycles run at once with ``workers`` worker processes / Ray CPUs."""

    executor: str
    workers: int
    cycles: int
    wall: float

    @property
    def per_minute(self) -> float:
        return 60 * self.cycles / self.wall


def write_strategy(home: Path, name: str, epochs: int) -> None:
    """The EURUSD example with a tiny model, saved into the home's strategy catalog."""
    data = strategy_to_dict(load_strategy(EXAMPLE))
    data["name"] = name
    data["model"]["architecture"]["hidden_layers"] = [8]
    data["decisions"]["confidence_threshold"] = 0.34
    data["training"].update({"epochs": epochs, "early_stopping": {"patience": epochs}})
    data["training_data"]["date_range"] = {"start": "2015-01-01", "end": "2017-12-31"}
    folder = home / "strategies"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / f"{name}.yaml").write_text(yaml.safe_dump(data, sort_keys=False))


@contextmanager
def stack(home: Path, executor: str, workers: int, **extra: str) -> Iterator[Services]:
    """Services on ``home`` with the given executor; env set for its workers / Ray tasks."""
    env = {
        "KTRDR_HOME": str(home),
        "KTRDR_EXECUTOR": executor,
        "KTRDR_WORKERS": str(workers),
        "KTRDR_RAY_NUM_CPUS": str(workers),
        "KTRDR_RAY_OBJECT_STORE_MB": "300",
        "KTRDR_LOG_LEVEL": "WARNING",
        "KTRDR_AGENT_POLL_INTERVAL": "0.2",
        **extra,
    }
    os.environ.update(env)
    reset_settings()
    services = build_services(Settings())
    try:
        yield services
    finally:
        services.close()


def wait(services: Services, operation_ids: list[str]) -> list[Operation]:
    """The operations once all are terminal; RuntimeError if one did not complete."""
    deadline = time.monotonic() + TIMEOUT
    while time.monotonic() < deadline:
        operations = [services.operations.get(op_id) for op_id in operation_ids]
        if all(op.is_terminal for op in operations):
            failed = [op.error_message for op in operations if op.status.value != "completed"]
            if failed:
                raise RuntimeError(f"{len(failed)} jobs did not complete: {failed[:3]}")
            return operations
        time.sleep(0.05)
    raise RuntimeError(f"jobs not done within {TIMEOUT:.0f}s")


def run_batch(services: Services, submit: Callable[[], str], count: int) -> float:
    """Seconds from submitting ``count`` jobs at once until the last ends."""
    started = time.perf_counter()
    wait(services, [submit() for _ in range(count)])
    return time.perf_counter() - started


def run_one_by_one(services: Services, submit: Callable[[], str], count: int) -> list[float]:
    """Submit-to-completed seconds of ``count`` jobs run one after another."""
    latencies = []
    for _ in range(count):
        started = time.perf_counter()
        wait(services, [submit()])
        latencies.append(time.perf_counter() - started)
    return latencies


def submitters(services: Services) -> dict[str, Callable[[], str]]:
    """Start one backtest / one training of the benchmark strategy; the operation id."""
    assert services.backtesting is not None and services.training is not None
    backtesting, training = services.backtesting, services.training
    return {
        "backtest": lambda: backtesting.start_backtest(STRATEGY, **BACKTEST_RANGE)["operation_id"],
        "training": lambda: training.start_training(training.resolve_strategy(STRATEGY))[
            "operation_id"
        ],
    }


def direct_seconds(services: Services, kind: str, repeat: int) -> float:
    """Mean seconds of the job function run in this process on the request a service builds."""
    captured: dict[str, Any] = {}

    class Capture:
        def submit(self, spec: Any) -> None:
            captured["spec"] = spec

    service = services.backtesting if kind == "backtest" else services.training
    assert service is not None
    real, service.executor = service.executor, Capture()  # type: ignore[assignment]
    try:
        submitters(services)[kind]()
    finally:
        service.executor = real
    spec = captured["spec"]
    services.operations.start(spec.operation_id)  # the job's progress writes need it running
    job = run_backtest_job if kind == "backtest" else run_training_job
    times = []
    for _ in range(repeat + 1):  # the first run warms this process up (imports, JIT): dropped
        with tempfile.TemporaryDirectory() as scratch, using_sink(ArtifactSink(Path(scratch))):
            started = time.perf_counter()
            job(spec.operation_id, dict(spec.request))
            times.append(time.perf_counter() - started)
    services.operations.cancel(spec.operation_id, "benchmark: run in-process")
    return statistics.median(times[1:])


def measure_executor(home: Path, executor: str, counts: dict[str, int]) -> list[Batch]:
    """Batches and one-by-one latencies of backtests and trainings through ``executor``."""
    batches = []
    with stack(home, executor, 2) as services:
        submit = submitters(services)
        for kind in ("backtest", "training"):
            wait(services, [submit[kind]()])  # warm-up: imports, JIT, Ray worker start
            wall = run_batch(services, submit[kind], counts[kind])
            one_by_one = run_one_by_one(services, submit[kind], counts[f"{kind}_latency"])
            batch = Batch(executor, kind, counts[kind], wall, one_by_one)
            batch.direct = direct_seconds(services, kind, 3)
            batches.append(batch)
            print(f"{executor} {kind}: {wall:.1f}s for {counts[kind]}", flush=True)
    return batches


def measure_cycles(home: Path, executor: str, workers: int, cycles: int) -> Cycles:
    """``cycles`` research cycles triggered at once; seconds until all completed."""
    concurrency = {"KTRDR_AGENT_MAX_CONCURRENT_RESEARCHES": str(cycles)}
    with stack(home, executor, workers, **concurrency) as services:
        assert services.agent is not None
        agent = services.agent
        trigger = {"strategy": CYCLE_STRATEGY, "gates": LENIENT_GATES}
        wait(services, [agent.trigger(**trigger, seed=99)["operation_id"]])  # warm-up cycle
        started = time.perf_counter()
        ids = [agent.trigger(**trigger, seed=seed)["operation_id"] for seed in range(cycles)]
        wait(services, ids)
        wall = time.perf_counter() - started
    print(f"{executor} cycles with {workers} workers: {wall:.1f}s", flush=True)
    return Cycles(executor, workers, cycles, wall)


def batch_table(batches: list[Batch]) -> str:
    """Markdown rows per kind and executor, with the Ray / local ratios."""
    local = {b.kind: b for b in batches if b.executor == "local"}
    rows = []
    for b in batches:
        ratio_wall = b.wall / local[b.kind].wall
        rows.append(
            [
                b.kind,
                b.executor,
                b.jobs,
                f"{b.wall:.2f}",
                f"{b.jobs / b.wall:.2f}",
                f"{statistics.mean(b.latencies):.2f}",
                f"{b.direct:.2f}",
                f"{b.overhead:.2f}",
                f"{ratio_wall:.2f}x",
            ]
        )
    headers = [
        "job",
        "executor",
        "jobs at once",
        "total s",
        "jobs/s",
        "one-by-one s/job",
        "in-process s/job",
        "overhead s/job",
        "total vs local",
    ]
    return markdown_table(headers, rows)


def cycles_table(results: list[Cycles]) -> str:
    """Markdown rows: cycles per minute with 1 and 2 workers, and the speed-up."""
    base = {r.executor: r for r in results if r.workers == 1}
    rows = [
        [
            r.executor,
            r.workers,
            r.cycles,
            f"{r.wall:.1f}",
            f"{r.per_minute:.1f}",
            f"{r.per_minute / base[r.executor].per_minute:.2f}x",
        ]
        for r in results
    ]
    headers = ["executor", "workers / CPUs", "cycles at once", "total s", "cycles/min", "vs 1"]
    return markdown_table(headers, rows)


def report(batches: list[Batch], cycles: list[Cycles], counts: dict[str, int]) -> str:
    """The markdown results page."""
    return "\n\n".join(
        [
            "# Executors: local processes vs Ray on one machine",
            machine_markdown(describe_machine(("torch", "ray", "numpy", "pandas"))),
            "Both executors on the same SQLite store and KTRDR_HOME; Ray is a local cluster "
            "started by the executor (`KTRDR_EXECUTOR=ray`, empty `KTRDR_RAY_ADDRESS`, 2 CPUs, "
            "300 MB object store). Backtests: the benchmark strategy's model on EURUSD 1h "
            f"{BACKTEST_RANGE['start_date']}..{BACKTEST_RANGE['end_date']}; trainings: the "
            "EURUSD example with one 8-unit hidden layer, 3 epochs, 2015-2017. Each kind is "
            "warmed up by one job first. 'total' = the batch submitted at once; 'one-by-one' = "
            f"{counts['backtest_latency']} backtests / {counts['training_latency']} trainings "
            "each waited for before the next; 'overhead' = one-by-one minus the same job "
            "function run in-process (warm; median of 3).",
            batch_table(batches),
            "## Research-cycle throughput",
            "Cycles on the benchmark strategy trained for 40 epochs (no design phase: the "
            "strategy is given; train, backtest, assess), all triggered at once, with 1 and then "
            "2 worker processes (local) or Ray CPUs (ray), after one warm-up cycle (worker "
            "processes started and torch imported). With Ray, designer and assessor jobs run on "
            "the server's own pool (same size), so Ray with 1 CPU still has 2 processes; the "
            "local pool with 1 worker runs every job of the 4 cycles in one process, and its "
            "trainings use 2 torch threads (cores / workers) instead of 1.",
            cycles_table(cycles),
        ]
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backtests", type=int, default=20)
    parser.add_argument("--trainings", type=int, default=4)
    parser.add_argument("--cycles", type=int, default=4)
    args = parser.parse_args()
    counts = {
        "backtest": args.backtests,
        "training": args.trainings,
        "backtest_latency": 5,
        "training_latency": 3,
    }
    # A local Ray of our own: private temp dir and auth token, nothing written to ~/.ray.
    os.environ.update(RAY_AUTH_MODE="token", RAY_AUTH_TOKEN=secrets.token_hex(32))
    batches: list[Batch] = []
    cycles: list[Cycles] = []
    with tempfile.TemporaryDirectory(prefix="kb", dir="/tmp") as tmp:
        os.environ["RAY_TMPDIR"] = tmp
        home = Path(tmp) / "home"
        write_strategy(home, STRATEGY, epochs=3)
        write_strategy(home, CYCLE_STRATEGY, epochs=40)
        with stack(home, "local", 1) as services:
            assert services.training is not None
            wait(
                services,
                [
                    services.training.start_training(services.training.resolve_strategy(STRATEGY))[
                        "operation_id"
                    ]
                ],
            )
        for executor in ("local", "ray"):
            batches += measure_executor(home, executor, counts)
        for executor in ("local", "ray"):
            for workers in (1, 2):
                cycles.append(measure_cycles(home, executor, workers, args.cycles))
    text = report(batches, cycles, counts)
    print(text)
    (RESULTS_DIR / "executors.md").write_text(text + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
