"""Benchmark training: train_ensemble against a hand-written loop, and first-epoch latency.

Measures train_ensemble's throughput against a hand-written PyTorch loop, and the latency from
TrainingService.start_training to the first epoch's progress (cold and warm pool).

Throughput: the loops train an MLP on the EURUSD features of the example strategy
(examples/strategies/eurusd_rsi_macd_mlp.yaml: bundled EURUSD 1h bars 2017-04-19..2017-12-31,
through prepare_training_data) from the same initial weights with Adam and cross-entropy, batch
64, shuffled each epoch, on the same float32 tensors. Two MLPs: the example's (hidden [32, 16],
dropout 0.2) and the schema's default MlpArchitecture (hidden [64, 32], dropout 0.2).
train_ensemble with one member trains the same single network; it additionally measures the
validation set after every epoch (as it must for early stopping) and, with its defaults, clips
gradients and weights the loss by class; the "bare" row turns those two off. It runs its own
Adam over the members' stacked weights, the hand loop torch's default (foreach) Adam, as most
hand-written loops do. The 3-member row trains a seed ensemble of three such networks as one
batched module (the strategy's ``evaluation.seeds: 3``). Overhead = seconds / (networks x hand
loop seconds).

Latency: a throw-away KTRDR_HOME, OperationsService on SQLite, LocalExecutor(workers=1,
preload=("torch",)) and TrainingService; the example strategy is trained once on the freshly
booted pool (cold) and then again on the same pool (warm). Run from the repository root:

    .venv/bin/python benchmarks/training.py [--threads 1 2] [--warm 5]

Tiny models run fastest on one torch thread; more threads only pay off on an idle machine.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import (
    RESULTS_DIR,
    best_time,
    describe_machine,
    machine_markdown,
    markdown_table,
)

from ktrdr.data import DataRepository, DataWindows
from ktrdr.execution import LocalExecutor
from ktrdr.operations import OperationsService, OperationsStore
from ktrdr.settings import Settings
from ktrdr.strategy import MlpArchitecture, StrategyCatalog, load_strategy, strategy_to_dict
from ktrdr.training import MemberData, TrainerConfig, build_model, train_ensemble
from ktrdr.training.dataset import prepare_training_data
from ktrdr.training.service import TrainingService

EXAMPLES = Path(__file__).resolve().parents[1] / "examples" / "strategies"
STRATEGY_FILE = EXAMPLES / "eurusd_rsi_macd_mlp.yaml"
SYMBOL, TIMEFRAME, START, END = "EURUSD", "1h", "2017-04-19", "2017-12-31"
EPOCHS = 20
BATCH_SIZE = 64
LEARNING_RATE = 1e-3
REPEAT = 5
SEED = 42
POLL_SECONDS = 0.01
JOB_TIMEOUT_SECONDS = 300.0
COMMAND = ".venv/bin/python benchmarks/training.py"


@dataclass(frozen=True)
class Dataset:
    """Train and validation arrays: float32 features, int64 labels 0/1/2."""

    description: str
    x_train: np.ndarray
    y_train: np.ndarray
    x_val: np.ndarray
    y_val: np.ndarray

    @property
    def n_features(self) -> int:
        return self.x_train.shape[1]


@dataclass(frozen=True)
class Run:
    """One measured training loop: its best wall time over REPEAT runs."""

    model: str
    loop: str
    networks: int
    threads: int
    seconds: float


@dataclass(frozen=True)
class JobTiming:
    """One training job: seconds from start_training returning to running / first epoch seen."""

    call: float  # start_training's own duration (checks + create + submit)
    to_running: float  # until the worker marked the operation running
    # Until a progress write with context.epoch >= 1 was seen, and that epoch (writes are
    # throttled, so it may be > 1); None when the job ended before any epoch write.
    to_first_epoch: float | None
    first_epoch_seen: int | None
    job_seconds: float  # the job's own duration_seconds


@dataclass(frozen=True)
class Latency:
    """A fresh pool's boot seconds, its first (cold) job and the warm jobs after it."""

    progress_interval: float  # the workers' progress_min_interval
    pool_start: float
    cold: JobTiming
    warm: list[JobTiming]


def model_sections() -> dict[str, dict[str, Any]]:
    """The example strategy's MLP and the schema's default MlpArchitecture, by label."""
    example = load_strategy(STRATEGY_FILE).model.model_dump(exclude={"seed"})
    default = {**example, "architecture": MlpArchitecture().model_dump()}
    return {
        f"example MLP {example['architecture']['hidden_layers']}": example,
        f"schema default MLP {default['architecture']['hidden_layers']}": default,
    }


def load_dataset() -> Dataset:
    """The example strategy's normalised train and validation arrays on bundled EURUSD 1h."""
    strategy = load_strategy(STRATEGY_FILE)
    with tempfile.TemporaryDirectory() as data_dir:
        bars = DataRepository(Path(data_dir)).load(SYMBOL, TIMEFRAME, START, END)
    prepared = prepare_training_data(strategy, {SYMBOL: {TIMEFRAME: bars}})
    x_train, x_val = prepared.inputs["train"], prepared.inputs["validation"]
    return Dataset(
        f"{strategy.name} features of {SYMBOL} {TIMEFRAME} {START}..{END} ({len(bars)} bars): "
        f"float32 train {x_train.shape}, validation {x_val.shape} "
        f"({', '.join(prepared.feature_names)})",
        x_train,
        prepared.labels["train"],
        x_val,
        prepared.labels["validation"],
    )


def hand_loop(data: Dataset, section: dict[str, Any]) -> None:
    """The minimal loop: shuffle, slice batches, Adam on cross-entropy; nothing else."""
    model = build_model(section, data.n_features, seed=SEED)
    model.train()
    optimizer = torch.optim.Adam(model.parameters(), lr=LEARNING_RATE)
    criterion = nn.CrossEntropyLoss()
    features, labels = torch.from_numpy(data.x_train), torch.from_numpy(data.y_train)
    generator = torch.Generator().manual_seed(SEED)
    for _ in range(EPOCHS):
        order = torch.randperm(len(features), generator=generator)
        shuffled_x, shuffled_y = features[order], labels[order]
        for start in range(0, len(features), BATCH_SIZE):
            optimizer.zero_grad(set_to_none=True)
            loss = criterion(
                model(shuffled_x[start : start + BATCH_SIZE]),
                shuffled_y[start : start + BATCH_SIZE],
            )
            loss.backward()
            optimizer.step()


def ensemble_loop(
    data: Dataset, section: dict[str, Any], config: TrainerConfig, networks: int
) -> None:
    """train_ensemble of ``networks`` seeds with a cheap should_stop, as the training job does."""
    seeds = [SEED + i for i in range(networks)]
    members = [build_model(section, data.n_features, seed=seed) for seed in seeds]
    outcome = train_ensemble(
        members, [MemberData(data.x_train, data.y_train, data.x_val, data.y_val)], config,
        seeds=seeds, data_of_member=[0] * networks, should_stop=lambda: False,
    )  # fmt: skip
    assert outcome.epochs_run == EPOCHS


def measure_throughput(data: Dataset, thread_counts: list[int]) -> list[Run]:
    """Best-of-REPEAT seconds of each loop, per model and torch thread count."""
    common = {"epochs": EPOCHS, "batch_size": BATCH_SIZE, "learning_rate": LEARNING_RATE}
    defaults = TrainerConfig(**common, patience=None)
    bare = TrainerConfig(**common, patience=None, grad_clip_norm=None, class_weights=False)
    runs = []
    for model_name, section in model_sections().items():
        loops = {
            ("hand-written loop", 1): lambda s=section: hand_loop(data, s),
            ("train_ensemble (defaults)", 1): lambda s=section: ensemble_loop(data, s, defaults, 1),
            ("train_ensemble (bare)", 1): lambda s=section: ensemble_loop(data, s, bare, 1),
            ("train_ensemble (defaults)", 3): lambda s=section: ensemble_loop(data, s, defaults, 3),
        }
        for threads in thread_counts:
            torch.set_num_threads(threads)
            hand_loop(data, section)  # warm-up: allocator, kernels
            best = dict.fromkeys(loops, float("inf"))
            # Round-robin, so a burst of load from other processes hits every loop alike.
            for _ in range(REPEAT):
                for name, loop in loops.items():
                    best[name] = min(best[name], best_time(loop, 1)[0])
            runs += [
                Run(model_name, name, networks, threads, seconds)
                for (name, networks), seconds in best.items()
            ]
    return runs


def time_job(training: TrainingService, operations: OperationsService, strategy: dict) -> JobTiming:
    """Start one training, poll the store every 10 ms for its first epoch, wait for the end."""
    called = time.perf_counter()
    operation_id = training.start_training(training.resolve_strategy(strategy))["operation_id"]
    returned, returned_wall = time.perf_counter(), time.time()
    deadline = returned + JOB_TIMEOUT_SECONDS
    first_epoch, epoch = None, 0
    while not (operation := operations.get(operation_id)).is_terminal:
        if first_epoch is None and (epoch := operation.progress.context.get("epoch", 0)) >= 1:
            first_epoch = time.perf_counter() - returned
        if time.perf_counter() > deadline:
            raise RuntimeError(f"training {operation_id} did not finish")
        time.sleep(POLL_SECONDS)
    if operation.status.value != "completed":
        raise RuntimeError(f"training {operation_id} {operation.status.value}: {operation}")
    return JobTiming(
        call=returned - called,
        to_running=operation.started_at.timestamp() - returned_wall,
        to_first_epoch=first_epoch,
        first_epoch_seen=int(epoch) if first_epoch is not None else None,
        job_seconds=float(operation.result_summary["duration_seconds"]),
    )


def measure_latency(warm_runs: int, progress_interval: float) -> Latency:
    """Pool boot, the cold job and the warm jobs on a one-worker pool in a temp home."""
    with tempfile.TemporaryDirectory(prefix="ktrdr-bench-") as tmp:
        home = Path(tmp)
        os.environ.update(
            KTRDR_HOME=str(home),
            KTRDR_PROGRESS_MIN_INTERVAL=str(progress_interval),  # the worker reads it
            KTRDR_LOG_LEVEL="WARNING",  # keep the workers' job logs out of the report
        )
        settings = Settings(home=home)
        operations = OperationsService(OperationsStore.from_url(settings.resolved_database_url))
        strategy = strategy_to_dict(load_strategy(STRATEGY_FILE))
        started = time.perf_counter()
        executor = LocalExecutor(
            operations,
            workers=1,
            database_url=settings.resolved_database_url,
            home=home,
            grace_seconds=1.0,
            preload=("torch",),
        )
        try:
            # health() counts workers but not whether they booted; the slot knows.
            while not all(slot.booted for slot in executor._slots):
                time.sleep(POLL_SECONDS)
            pool_start = time.perf_counter() - started
            assert executor.health()["busy"] == 0
            data = DataRepository(settings.path("data"))
            training = TrainingService(
                operations,
                executor,
                settings=settings,
                data=data,
                strategies=StrategyCatalog(settings.path("strategies"), [EXAMPLES]),
                windows=DataWindows(
                    operations.store.engine, data, holdout_fraction=settings.holdout_fraction
                ),
            )
            cold = time_job(training, operations, strategy)
            warm = [time_job(training, operations, strategy) for _ in range(warm_runs)]
        finally:
            executor.shutdown(wait=False)
    return Latency(progress_interval, pool_start, cold, warm)


def throughput_table(data: Dataset, runs: list[Run]) -> str:
    """Markdown rows: seconds, samples/s and the ratio to the hand loop per network trained."""
    baseline = {(r.model, r.threads): r.seconds for r in runs if r.loop == "hand-written loop"}
    samples = len(data.x_train) * EPOCHS
    rows = [
        [
            run.model,
            run.loop,
            run.networks,
            run.threads,
            f"{run.seconds:.3f}",
            f"{samples * run.networks / run.seconds:,.0f}",
            f"{run.seconds / (run.networks * baseline[(run.model, run.threads)]):.2f}x",
        ]
        for run in runs
    ]
    headers = [
        "model",
        "loop",
        "networks",
        "torch threads",
        "seconds",
        "train samples/s (all networks)",
        "vs hand loop, per network",
    ]
    return markdown_table(headers, rows)


def latency_table(latencies: list[Latency]) -> str:
    """Markdown rows per progress interval: the cold job and median/min/max of the warm jobs."""

    def row(latency: Latency, label: str, timings: list[JobTiming], reduce: Any) -> list[str]:
        def cell(field: str, digits: int) -> str:
            values = [v for t in timings if (v := getattr(t, field)) is not None]
            return f"{reduce(values):.{digits}f}" if values else "never seen"

        return [
            f"{latency.progress_interval:g}",
            f"{latency.pool_start:.2f}" if label.startswith("cold") else "",
            label,
            cell("call", 3),
            cell("to_running", 3),
            cell("to_first_epoch", 3),
            ", ".join(sorted({str(t.first_epoch_seen or "none") for t in timings})),
            cell("job_seconds", 2),
        ]

    rows = []
    for latency in latencies:
        warm = latency.warm
        rows += [
            row(latency, "cold: first job on the fresh pool", [latency.cold], min),
            row(latency, f"warm: median of {len(warm)}", warm, statistics.median),
            row(latency, "warm: min", warm, min),
            row(latency, "warm: max", warm, max),
        ]
    headers = [
        "progress_min_interval s",
        "pool start s",
        "job",
        "start_training call s",
        "return -> running s",
        "return -> first epoch seen s",
        "epoch seen first",
        "job duration_seconds",
    ]
    return markdown_table(headers, rows)


def report(data: Dataset, runs: list[Run], latencies: list[Latency]) -> str:
    machine = describe_machine(("numpy", "torch"))
    machine["load average (1 min) at the end"] = f"{os.getloadavg()[0]:.2f}"
    return "\n\n".join(
        [
            "# Training: throughput vs a hand-written PyTorch loop, and first-epoch latency",
            f"Command: `{' '.join([COMMAND, *sys.argv[1:]])}`",
            machine_markdown(machine),
            "## Throughput",
            f"Data: {data.description}. Batch {BATCH_SIZE}, Adam lr {LEARNING_RATE}, "
            f"{EPOCHS} epochs, best of {REPEAT} interleaved runs.",
            throughput_table(data, runs),
            "train_ensemble's rows include one validation pass per epoch "
            f"({len(data.x_val)} rows) and a should_stop call per batch, and use its own Adam over "
            "the members' stacked weights (the hand loop: torch's default Adam); 'defaults' also "
            "clips gradients (norm 1.0) and weights the loss by class. The 3-network row is a "
            "seed ensemble trained as one batched module; its last column is its seconds over "
            "three hand loops.",
            "## Latency from start_training to the first epoch's progress",
            "SQLite store in a temp KTRDR_HOME, LocalExecutor(workers=1, preload=('torch',)), "
            f"TrainingService; the example strategy ({EPOCHS} epochs, early stopping patience 5, "
            "4 anchored walk-forward folds and the final model, each a 3-seed ensemble)."
            f" The store is polled every {POLL_SECONDS * 1000:.0f} ms for a progress write with "
            "context.epoch >= 1. Pool start = LocalExecutor constructed -> its worker booted "
            "(torch preloaded), before the cold job. 'running' = the operation's started_at, "
            "set by the worker (slightly negative when it starts the job before start_training "
            "has returned); from running to the first epoch the job loads bars, builds "
            "features and labels, runs the look-ahead audit and trains an epoch. Progress writes "
            "are throttled to one per progress_min_interval (default 0.25 s), so most of a warm "
            "job's epochs are skipped: the first epoch a client sees is a later one, or none "
            "before the job ends ('never seen'); "
            "the 0 s rows write every epoch.",
            latency_table(latencies),
        ]
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, nargs="+", default=[1], help="torch thread counts")
    parser.add_argument("--warm", type=int, default=5, help="warm jobs after the cold one")
    arguments = parser.parse_args()
    data = load_dataset()
    runs = measure_throughput(data, sorted(set(arguments.threads)))
    default_interval = Settings.model_fields["progress_min_interval"].default
    latencies = [measure_latency(arguments.warm, i) for i in (default_interval, 0.0)]
    text = report(data, runs, latencies)
    print(text)
    RESULTS_DIR.mkdir(exist_ok=True)
    (RESULTS_DIR / "training.md").write_text(text + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
