"""Benchmark full research cycles through a real `ktrdr serve`: wall time, phase shares,
orchestration overhead, and the latency of cancelling a cycle during training.

Per agent poll interval (KTRDR_AGENT_POLL_INTERVAL, default 1 s, and 0.2 s), a fresh server
(throw-away KTRDR_HOME, KTRDR_WORKERS=2) runs one cold cycle (the first after start: workers
import and JIT on first use) and several warm ones, each triggered with POST /agent/trigger
and lenient gate overrides so every cycle designs (offline designer), trains, backtests and
assesses. Overhead = wall - the sum of the child jobs' durations; it splits exactly into:
lead-in (parent started -> first child created), queue wait (child created -> started),
poll lag (child completed -> next child created) and tail (last child completed -> parent
completed). Cancel latency: a cycle trains a 500-epoch copy of the example strategy; after
its first epoch, DELETE /agent/cancel, then time until the training operation is cancelled
in the store and the executor reports no busy worker. Evaluation protocol cost: on the main
server, the example strategy as a default walk-forward cycle (4 folds x 3 seeds) and as a
single-split single-seed cycle, alternated, warm. Run from the repository root:

    .venv/bin/python benchmarks/research_cycle.py [--warm 5] [--cancels 10] [--protocol-rounds 3]
"""

from __future__ import annotations

import argparse
import math
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx
import yaml

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import RESULTS_DIR, describe_machine, machine_markdown, markdown_table

from ktrdr.strategy import load_strategy, strategy_to_dict

ROOT = Path(__file__).resolve().parents[1]
KTRDR = ROOT / ".venv" / "bin" / "ktrdr"
EXAMPLE = ROOT / "examples" / "strategies" / "eurusd_rsi_macd_mlp.yaml"
FALLBACK = {"strategy": "eurusd_rsi_macd_mlp"}
LONG_STRATEGY = "bench_long_eurusd"
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
PHASES = ("agent_design", "training", "backtesting", "agent_assessment")
STAMPS = ("created_at", "started_at", "completed_at")
TERMINAL = {"completed", "failed", "cancelled"}
START_TIMEOUT, CYCLE_TIMEOUT, CANCEL_TIMEOUT = 120.0, 300.0, 30.0
POLL_SECONDS = 0.01
COMMAND = ".venv/bin/python benchmarks/research_cycle.py"


@dataclass(frozen=True)
class Child:
    """One child operation's timestamps (UTC) and type."""

    kind: str
    created: datetime
    started: datetime
    completed: datetime

    @property
    def seconds(self) -> float:
        return (self.completed - self.started).total_seconds()

    @property
    def queued(self) -> float:
        return (self.started - self.created).total_seconds()


@dataclass(frozen=True)
class Cycle:
    """One finished research cycle: the parent's timestamps and its children in order."""

    label: str
    status: str
    trigger_to_start: float
    started: datetime
    completed: datetime
    children: list[Child]

    @property
    def wall(self) -> float:
        return (self.completed - self.started).total_seconds()

    @property
    def complete(self) -> bool:
        """Completed after running every phase (design skipped only by the fallback)."""
        ran = {child.kind for child in self.children}
        return self.status == "completed" and ran >= set(PHASES[1:])

    def phase(self, kind: str) -> float:
        return sum(c.seconds for c in self.children if c.kind == kind)

    @property
    def overhead(self) -> float:
        return self.wall - sum(c.seconds for c in self.children)

    def parts(self) -> dict[str, float]:
        """The overhead split: lead-in, queue wait, poll lag, tail (they add up to it)."""
        first, last = self.children[0], self.children[-1]
        lags = zip(self.children, self.children[1:], strict=False)
        return {
            "lead-in": (first.created - self.started).total_seconds(),
            "queue wait": sum(c.queued for c in self.children),
            "poll lag": sum((b.created - a.completed).total_seconds() for a, b in lags),
            "tail": (self.completed - last.completed).total_seconds(),
        }


@dataclass(frozen=True)
class Cancel:
    """One cancel: seconds from DELETE sent to training cancelled in the store / worker free."""

    store: float
    worker_free: float

    @property
    def both(self) -> float:
        return max(self.store, self.worker_free)


def free_port() -> int:
    """A loopback port nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def when(stamp: str) -> datetime:
    return datetime.fromisoformat(stamp)


def wait_for(condition: Callable[[], Any], what: str, timeout: float) -> Any:
    """Poll ``condition`` every 10 ms until it returns something truthy; return that."""
    deadline = time.monotonic() + timeout
    while not (value := condition()):
        if time.monotonic() > deadline:
            raise RuntimeError(f"timed out after {timeout:.0f}s waiting for {what}")
        time.sleep(POLL_SECONDS)
    return value


class Server:
    """`ktrdr serve` on a free port with its own KTRDR_HOME and agent poll interval."""

    def __init__(self, home: Path, poll_interval: float) -> None:
        self.home, self.port = home, free_port()
        self.env = {
            **os.environ,
            "KTRDR_HOME": str(home),
            "KTRDR_AGENT_POLL_INTERVAL": str(poll_interval),
            "KTRDR_WORKERS": "2",
            "KTRDR_LOG_LEVEL": "WARNING",
        }
        self.client = httpx.Client(base_url=f"http://127.0.0.1:{self.port}/api/v1", timeout=30.0)
        self.process: subprocess.Popen[bytes] | None = None

    def __enter__(self) -> Server:
        command = [str(KTRDR), "serve", "--port", str(self.port)]
        with open(self.home / "server.log", "wb") as log:
            self.process = subprocess.Popen(command, env=self.env, stdout=log, stderr=log)
        wait_for(self._healthy, "the server's /health", START_TIMEOUT)
        return self

    def __exit__(self, *exc_info: object) -> None:
        assert self.process is not None
        self.process.terminate()
        self.process.wait(timeout=60)
        self.client.close()

    def _healthy(self) -> bool:
        if self.process is not None and self.process.poll() is not None:
            raise RuntimeError(f"server exited with {self.process.returncode}; see server.log")
        try:
            return self.client.get("/health").status_code == 200
        except httpx.TransportError:
            return False

    def get(self, path: str) -> Any:
        return self.client.get(path).json()

    def operation(self, operation_id: str) -> dict[str, Any]:
        return self.get(f"/operations/{operation_id}")["data"]

    def trigger(self, body: dict[str, Any]) -> str:
        response = self.client.post("/agent/trigger", json={**body, "gates": LENIENT_GATES})
        if response.status_code != 202:
            raise RuntimeError(f"trigger refused: {response.status_code} {response.text}")
        return response.json()["operation_id"]

    def finished(self, operation_id: str) -> dict[str, Any]:
        def done() -> dict[str, Any] | None:
            operation = self.operation(operation_id)
            return operation if operation["status"] in TERMINAL else None

        return wait_for(done, f"cycle {operation_id}", CYCLE_TIMEOUT)


def run_cycle(server: Server, body: dict[str, Any], label: str) -> Cycle:
    """Trigger one cycle, wait for its end and read its children's timestamps."""
    research_id = server.trigger(body)
    parent = server.finished(research_id)
    children = sorted(
        server.get(f"/operations/{research_id}/children")["data"], key=lambda c: c["created_at"]
    )
    return Cycle(
        label=label,
        status=parent["status"] + (f": {parent['error_message']}" * bool(parent["error_message"])),
        trigger_to_start=(when(parent["started_at"]) - when(parent["created_at"])).total_seconds(),
        started=when(parent["started_at"]),
        completed=when(parent["completed_at"]),
        children=[
            Child(
                c["operation_type"],
                *(when(c[k]) for k in ("created_at", "started_at", "completed_at")),
            )
            for c in children
        ],
    )


def run_cycles(server: Server, warm: int) -> tuple[list[Cycle], bool]:
    """One cold cycle, then warm ones until ``warm`` ran every phase (at most 3 x ``warm``).

    A designed strategy that never trades fails the backtest gate (missing win rate) even with
    lenient thresholds and skips the assessment; such cycles are listed but not in the medians.
    True when the designer failed and FALLBACK was used.
    """
    body: dict[str, Any] = {}
    cycles = [run_cycle(server, body, "cold")]
    fallback = "Design failed" in cycles[0].status
    if fallback:
        body = FALLBACK
        cycles = [run_cycle(server, body, "cold (fallback; designer failed)")]
    for attempt in range(3 * warm):
        if sum(cycle.complete for cycle in cycles[1:]) >= warm:
            break
        cycles.append(run_cycle(server, body, f"warm {attempt + 1}"))
    return cycles, fallback


def measure_cancel(server: Server) -> Cancel:
    """Cancel a long training cycle after its first epoch; time the store and the worker."""
    research_id = server.trigger({"strategy": LONG_STRATEGY})

    def training_epoch() -> str | None:
        training_id = server.operation(research_id)["metadata"]["parameters"].get("training_op_id")
        if training_id and (server.operation(training_id)["progress"]["context"] or {}).get(
            "epoch"
        ):
            return training_id
        return None

    training_id = wait_for(training_epoch, "the long training's first epoch", CYCLE_TIMEOUT)
    sent = time.perf_counter()
    response = server.client.delete("/agent/cancel")
    response.raise_for_status()
    store = worker = None
    deadline = sent + CANCEL_TIMEOUT
    while store is None or worker is None:
        if time.perf_counter() > deadline:
            raise RuntimeError(f"training {training_id} not cancelled and freed in time")
        if store is None and server.operation(training_id)["status"] == "cancelled":
            store = time.perf_counter() - sent
        if worker is None and server.get("/health")["data"]["executor"]["busy"] == 0:
            worker = time.perf_counter() - sent
        time.sleep(POLL_SECONDS)
    wait_for(lambda: server.operation(research_id)["status"] in TERMINAL, "cycle end", 10.0)
    return Cancel(store, worker)


def write_long_strategy(home: Path) -> None:
    """The example with 500 epochs and patience 500, where the server's catalog finds it."""
    data = strategy_to_dict(load_strategy(EXAMPLE))
    data["name"] = LONG_STRATEGY
    data["training"].update({"epochs": 500, "early_stopping": {"patience": 500}})
    folder = home / "strategies"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / f"{LONG_STRATEGY}.yaml").write_text(yaml.safe_dump(data, sort_keys=False))


# The same design under each evaluation protocol: the strategy's evaluation section.
PROTOCOLS = {
    "walk-forward, 4 folds x 3 seeds (default)": {
        "folds": 4,
        "scheme": "anchored",
        "seeds": 3,
        "min_train_fraction": 0.5,
    },
    "single split, 1 seed": {"folds": 0, "seeds": 1},
}


def protocol_strategy(label: str) -> str:
    return "bench_protocol_" + ("walk_forward" if label.startswith("walk") else "single")


def write_protocol_strategies(home: Path) -> None:
    """The example once per evaluation protocol, where the server's catalog finds it."""
    for label, evaluation in PROTOCOLS.items():
        data = strategy_to_dict(load_strategy(EXAMPLE))
        data["name"] = protocol_strategy(label)
        data["evaluation"] = evaluation
        folder = home / "strategies"
        folder.mkdir(parents=True, exist_ok=True)
        (folder / f"{data['name']}.yaml").write_text(yaml.safe_dump(data, sort_keys=False))


def run_protocols(server: Server, rounds: int) -> dict[str, list[Cycle]]:
    """Each protocol's cycle once to warm up, then ``rounds`` alternated warm cycles of each."""
    runs: dict[str, list[Cycle]] = {label: [] for label in PROTOCOLS}
    for round_number in range(rounds + 1):
        for label in PROTOCOLS:
            cycle = run_cycle(server, {"strategy": protocol_strategy(label)}, label)
            if round_number:
                runs[label].append(cycle)
    return runs


def to_verdict(cycle: Cycle) -> float:
    """Seconds from the parent's start to the assessment's end: the cycle without its holdout
    look (which only a promising verdict adds)."""
    assessed = [c for c in cycle.children if c.kind == "agent_assessment"]
    end = assessed[-1].completed if assessed else cycle.completed
    return (end - cycle.started).total_seconds()


@dataclass(frozen=True)
class Config:
    """What one server run measured: its poll interval, cycles and (maybe) cancels."""

    poll_interval: float
    cycles: list[Cycle]
    fallback: bool
    cancels: list[Cancel]
    load: tuple[float, float]  # 1-min load average at the start and the end
    protocols: dict[str, list[Cycle]]

    @property
    def warm(self) -> list[Cycle]:
        """The warm cycles that ran every phase: what the medians are taken over."""
        return [cycle for cycle in self.cycles[1:] if cycle.complete]


def measure(poll_interval: float, warm: int, cancels: int, protocol_rounds: int) -> Config:
    """A fresh server with ``poll_interval``: cycles, ``cancels`` cancel measurements, then
    ``protocol_rounds`` of the evaluation-protocol comparison."""
    load_start = os.getloadavg()[0]
    with tempfile.TemporaryDirectory(prefix="ktrdr-bench-") as tmp:
        home = Path(tmp)
        write_long_strategy(home)
        write_protocol_strategies(home)
        with Server(home, poll_interval) as server:
            cycles, fallback = run_cycles(server, warm)
            cancelled = [measure_cancel(server) for _ in range(cancels)]
            protocols = run_protocols(server, protocol_rounds) if protocol_rounds else {}
    load = (load_start, os.getloadavg()[0])
    return Config(poll_interval, cycles, fallback, cancelled, load, protocols)


def protocol_table(configs: list[Config]) -> str:
    """Per protocol: warm cycles' median wall, wall up to the verdict, training and backtest."""
    rows = []
    for config in (c for c in configs if c.protocols):
        runs = config.protocols
        baseline = statistics.median(to_verdict(c) for c in runs[list(PROTOCOLS)[1]])
        for label, cycles in runs.items():
            until_verdict = statistics.median(to_verdict(c) for c in cycles)
            rows.append(
                [
                    label,
                    len(cycles),
                    ", ".join(c.status.split(":")[0] for c in cycles),
                    f"{statistics.median(c.wall for c in cycles):.2f}",
                    f"{until_verdict:.2f}",
                    f"{statistics.median(c.phase('training') for c in cycles):.2f}",
                    f"{statistics.median(_first_backtest(c) for c in cycles):.2f}",
                    f"{until_verdict / baseline:.2f}",
                ]
            )
    headers = ["protocol", "n", "status", "median wall s", "to verdict s", "training s"]
    return markdown_table([*headers, "backtest s", "ratio (to verdict)"], rows)


def _first_backtest(cycle: Cycle) -> float:
    """The walk-forward (or single) backtest's seconds, not the holdout look's."""
    backtests = [c.seconds for c in cycle.children if c.kind == "backtesting"]
    return backtests[0] if backtests else 0.0


def percent(part: float, whole: float) -> str:
    return f"{100 * part / whole:.1f} %"


def cycles_table(configs: list[Config]) -> str:
    """Every cycle: wall, each phase's job seconds, overhead."""
    rows = [
        [
            f"{config.poll_interval:g}",
            cycle.label,
            cycle.status,
            f"{cycle.wall:.2f}",
            *(f"{cycle.phase(kind):.2f}" for kind in PHASES),
            f"{cycle.overhead:.2f}",
            percent(cycle.overhead, cycle.wall),
        ]
        for config in configs
        for cycle in config.cycles
    ]
    headers = ["poll s", "cycle", "status", "wall s", *(f"{k} s" for k in PHASES)]
    return markdown_table([*headers, "overhead s", "overhead"], rows)


def shares_table(configs: list[Config]) -> str:
    """Per poll interval: cold wall, and the warm cycles' median wall and shares."""
    rows = []
    for config in (c for c in configs if c.warm):
        cold, warm = config.cycles[0], config.warm
        wall = statistics.median(c.wall for c in warm)
        shares = [percent(statistics.median(c.phase(kind) for c in warm), wall) for kind in PHASES]
        overhead = statistics.median(c.overhead for c in warm)
        rows.append(
            [
                f"{config.poll_interval:g}",
                f"{cold.wall:.2f}",
                percent(cold.overhead, cold.wall),
                f"{wall:.2f}",
                *shares,
                f"{overhead:.2f} s = {percent(overhead, wall)}",
            ]
        )
    headers = ["poll s", "cold wall s", "cold overhead", "warm median wall s"]
    return markdown_table([*headers, *(f"{k} share" for k in PHASES), "warm overhead"], rows)


def overhead_table(configs: list[Config]) -> str:
    """Per poll interval: the warm cycles' median seconds of each overhead part."""
    rows = []
    for config in (c for c in configs if c.warm):
        warm = config.warm
        parts = {name: statistics.median(c.parts()[name] for c in warm) for name in warm[0].parts()}
        start = statistics.median(c.trigger_to_start for c in warm)
        rows.append(
            [
                f"{config.poll_interval:g}",
                f"{start:.3f}",
                *(f"{seconds:.3f}" for seconds in parts.values()),
                f"{statistics.median(c.overhead for c in warm):.3f}",
            ]
        )
    headers = ["poll s", "trigger -> parent started s (not in wall)"]
    names = ["lead-in s", "queue wait s (sum of 4)", "poll lag s (sum of 3)", "tail s"]
    return markdown_table([*headers, *names, "overhead s"], rows)


def cancel_table(configs: list[Config]) -> str:
    """Per poll interval with cancels: p50/p95/max of each cancel latency, in ms."""
    rows = []
    for config in (c for c in configs if c.cancels):
        for name, pick in (
            ("training cancelled in the store", lambda c: c.store),
            ("worker free (executor busy == 0)", lambda c: c.worker_free),
            ("both", lambda c: c.both),
        ):
            values = [pick(c) * 1000 for c in config.cancels]
            rows.append(
                [
                    f"{config.poll_interval:g}",
                    name,
                    len(values),
                    f"{statistics.median(values):.0f}",
                    # p95 interpolated between order statistics, as numpy's default does
                    f"{statistics.quantiles(values, n=20, method='inclusive')[18]:.0f}",
                    f"{max(values):.0f}",
                ]
            )
    return markdown_table(["poll s", "until", "n", "p50 ms", "p95 ms", "max ms"], rows)


def overhead_note(configs: list[Config]) -> str:
    """Why the overhead is what it is, in numbers from the warm cycles."""
    lines = [
        "The loop creates a child, sleeps one poll interval, and only then looks again, so a "
        "child whose job ends x s after it was created is noticed ceil(x / poll) * poll - x s "
        "late: a child shorter than one interval (backtest, assessment: tens of ms) costs "
        "almost a whole interval. 'tick model' = that sum over the 4 children.",
    ]
    for config in (c for c in configs if c.warm):
        warm, poll = config.warm, config.poll_interval
        wall = statistics.median(c.wall for c in warm)
        jobs = statistics.median(c.wall - c.overhead for c in warm)
        lag = statistics.median(c.parts()["poll lag"] + c.parts()["tail"] for c in warm)
        model = statistics.median(sum(tick_lag(child, poll) for child in c.children) for c in warm)
        budget = jobs / 19  # overhead / (jobs + overhead) < 5 %
        verdict = "meets" if statistics.median(c.overhead for c in warm) < 0.05 * wall else "misses"
        lines.append(
            f"- poll {poll:g} s: a warm cycle lasts {wall:.2f} s, its 4 jobs {jobs:.2f} s; poll "
            f"lag + tail = {lag:.2f} s ({percent(lag, wall)} of the wall; tick model "
            f"{model:.2f} s). Under 5 % would allow {budget * 1000:.0f} ms of overhead in all, "
            f"about {budget * 250:.0f} ms per hand-over: the warm median {verdict} the target."
        )
    return "\n".join(lines)


def tick_lag(child: Child, poll: float) -> float:
    """How late a polling loop notices ``child`` done: the rest of the tick it ended in."""
    elapsed = (child.completed - child.created).total_seconds()
    return math.ceil(elapsed / poll) * poll - elapsed


def report(configs: list[Config]) -> str:
    machine = describe_machine(("torch", "optuna", "fastapi"))
    loads = ", ".join(
        f"poll {c.poll_interval:g} s run: {c.load[0]:.2f} -> {c.load[1]:.2f}" for c in configs
    )
    fallback = [f"{c.poll_interval:g} s" for c in configs if c.fallback]
    designer = (
        f"The offline designer failed, so cycles used {FALLBACK} (no design phase) in: "
        f"{', '.join(fallback)}."
        if fallback
        else "Every cycle used the default offline designer (Optuna over the design space)."
    )
    return "\n\n".join(
        [
            "# Research cycle: wall time, phase shares, orchestration overhead, cancel latency",
            f"Command: `{COMMAND}`",
            machine_markdown({**machine, "load average (1 min), start -> end": loads}),
            "A fresh `ktrdr serve` per agent poll interval (KTRDR_WORKERS=2, throw-away "
            "KTRDR_HOME, SQLite); cycles triggered with POST /agent/trigger and lenient gate "
            f"overrides so every phase runs. {designer} Wall = the research operation's "
            "started_at -> completed_at; phase = the child job's started_at -> completed_at; "
            "overhead = wall - the sum of the phases. Cold = the first cycle after the server "
            "started (the workers import and JIT on first use).",
            "## Every cycle",
            cycles_table(configs),
            "Cycles that ended at a gate skip the phases after it; only warm cycles that ran "
            "every phase enter the medians below.",
            "## Shares (warm cycles that ran every phase: medians)",
            shares_table(configs),
            "## Where the overhead comes from (warm cycles: medians)",
            "lead-in = parent started -> first child created; queue wait = child created -> "
            "started (the executor handing the job to an idle worker); poll lag = child "
            "completed -> next child created; tail = last child completed -> parent completed. "
            "They add up to the overhead.",
            overhead_table(configs),
            overhead_note(configs),
            "## Cost of the evaluation protocol (warm cycles: medians)",
            f"The example strategy ({EXAMPLE.name}) triggered as the user's strategy (no design "
            "phase), once per protocol to warm up, then alternated. 'to verdict' = parent started "
            "-> assessment completed: it leaves out the holdout look that only a promising "
            "verdict adds. Ratio = to-verdict median / the single-split one; target <= 3.",
            protocol_table(configs),
            "## Cancel latency",
            f"A cycle trains {LONG_STRATEGY} (the example, 500 epochs, patience 500); after the "
            "training's first epoch is visible, DELETE /agent/cancel; then GET the training "
            f"operation and /health every {POLL_SECONDS * 1000:.0f} ms (each a loopback HTTP "
            "round trip) until it is cancelled and executor.busy == 0. Target: p95 < 500 ms.",
            cancel_table(configs),
        ]
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--warm", type=int, default=5, help="warm cycles per server")
    parser.add_argument("--cancels", type=int, default=10, help="cancels at the default poll")
    parser.add_argument(
        "--polls", type=float, nargs="+", default=[1.0, 0.2], help="poll intervals; first = main"
    )
    parser.add_argument(
        "--protocol-rounds", type=int, default=3, help="warm cycles per evaluation protocol"
    )
    arguments = parser.parse_args()
    configs = [
        measure(
            poll,
            arguments.warm,
            arguments.cancels if i == 0 else 0,
            arguments.protocol_rounds if i == 0 else 0,
        )
        for i, poll in enumerate(arguments.polls)
    ]
    text = report(configs)
    print(text)
    RESULTS_DIR.mkdir(exist_ok=True)
    (RESULTS_DIR / "research_cycle.md").write_text(text + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
