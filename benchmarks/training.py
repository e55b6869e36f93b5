"""Benchmark train_model's throughput against a minimal hand-written PyTorch loop.

Both train the default strategy MLP (hidden_layers [32, 16], dropout 0.2, relu) from the same
initial weights with Adam and cross-entropy, batch 64, shuffled each epoch, on the same float32
tensors. train_model additionally measures the validation set after every epoch (as it must
for early stopping) and, with its defaults, clips gradients and weights the loss by class;
the "bare" row turns those two off. train_model uses fused Adam, the hand loop torch's default
(foreach) Adam, as most hand-written loops do. Overhead = train_model seconds / hand loop seconds.
Run from the repository root:

    PYTHONPATH=. .venv/bin/python benchmarks/training.py [--threads 1 2]

Tiny models run fastest on one torch thread; more threads only pay off on an idle machine.
"""

from __future__ import annotations

import argparse
import os
import sys
from dataclasses import dataclass
from pathlib import Path

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

from ktrdr.training import TrainerConfig, build_model, train_model

MODEL_SECTION = {
    "type": "mlp",
    "architecture": {"hidden_layers": [32, 16], "dropout": 0.2, "activation": "relu"},
    "lookback": 1,
}
TRAIN_ROWS, VAL_ROWS, N_FEATURES = 4000, 1000, 40
EPOCHS = 10
BATCH_SIZE = 64
LEARNING_RATE = 1e-3
REPEAT = 5
SEED = 42
COMMAND = "PYTHONPATH=. .venv/bin/python benchmarks/training.py"


@dataclass(frozen=True)
class Dataset:
    """Train and validation arrays: float32 features, int64 labels 0/1/2."""

    description: str
    x_train: np.ndarray
    y_train: np.ndarray
    x_val: np.ndarray
    y_val: np.ndarray


@dataclass(frozen=True)
class Run:
    """One measured training loop: its best wall time over REPEAT runs."""

    loop: str
    threads: int
    seconds: float


def load_dataset() -> Dataset:
    """Seeded Gaussian features, labels from a noisy linear score; swap in real features here."""
    rng = np.random.default_rng(SEED)
    features = rng.normal(size=(TRAIN_ROWS + VAL_ROWS, N_FEATURES)).astype(np.float32)
    score = features @ rng.normal(size=N_FEATURES) + rng.normal(scale=2.0, size=len(features))
    labels = np.digitize(score, np.quantile(score, [0.3, 0.7])).astype(np.int64)
    return Dataset(
        f"synthetic float32 ({TRAIN_ROWS}, {N_FEATURES}) train + ({VAL_ROWS}, {N_FEATURES}) val",
        features[:TRAIN_ROWS],
        labels[:TRAIN_ROWS],
        features[TRAIN_ROWS:],
        labels[TRAIN_ROWS:],
    )


def hand_loop(data: Dataset) -> None:
    """The minimal loop: shuffle, slice batches, Adam on cross-entropy; nothing else."""
    model = build_model(MODEL_SECTION, N_FEATURES, seed=SEED)
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


def ktrdr_loop(data: Dataset, config: TrainerConfig) -> None:
    """train_model with a cheap should_stop, as the training job will call it."""
    model = build_model(MODEL_SECTION, N_FEATURES, seed=SEED)
    outcome = train_model(
        model, data.x_train, data.y_train, data.x_val, data.y_val, config,
        should_stop=lambda: False,
    )  # fmt: skip
    assert outcome.epochs_run == EPOCHS


def measure(data: Dataset, thread_counts: list[int]) -> list[Run]:
    common = {"epochs": EPOCHS, "batch_size": BATCH_SIZE, "learning_rate": LEARNING_RATE}
    loops = {
        "hand-written loop": lambda: hand_loop(data),
        "train_model (defaults)": lambda: ktrdr_loop(data, TrainerConfig(**common, patience=None)),
        "train_model (bare)": lambda: ktrdr_loop(
            data,
            TrainerConfig(**common, patience=None, grad_clip_norm=None, class_weights=False),
        ),
    }
    runs = []
    for threads in thread_counts:
        torch.set_num_threads(threads)
        hand_loop(data)  # warm-up: allocator, kernels
        best = dict.fromkeys(loops, float("inf"))
        # Round-robin, so a burst of load from other processes hits every loop alike.
        for _ in range(REPEAT):
            for name, loop in loops.items():
                best[name] = min(best[name], best_time(loop, 1)[0])
        runs += [Run(name, threads, seconds) for name, seconds in best.items()]
    return runs


def report(data: Dataset, runs: list[Run]) -> str:
    baseline = {run.threads: run.seconds for run in runs if run.loop == "hand-written loop"}
    samples = TRAIN_ROWS * EPOCHS
    rows = [
        [
            run.loop,
            run.threads,
            f"{run.seconds:.3f}",
            f"{samples / run.seconds:,.0f}",
            f"{run.seconds / baseline[run.threads]:.2f}x",
        ]
        for run in runs
    ]
    table = markdown_table(
        ["loop", "torch threads", "seconds", "train samples/s", "overhead vs hand loop"], rows
    )
    machine = describe_machine(("numpy", "torch"))
    machine["load average (1 min)"] = f"{os.getloadavg()[0]:.2f}"
    return "\n\n".join(
        [
            "# Training throughput: train_model vs a hand-written PyTorch loop",
            f"Command: `{COMMAND}`",
            machine_markdown(machine),
            f"Data: {data.description}. Model: MLP [32, 16], dropout 0.2, batch {BATCH_SIZE}, "
            f"Adam lr {LEARNING_RATE}, {EPOCHS} epochs, best of {REPEAT} interleaved runs.",
            table,
            "train_model's rows include one validation pass per epoch "
            f"({VAL_ROWS} rows) and a should_stop call per batch, and use fused Adam (the hand "
            "loop: torch's default Adam); 'defaults' also clips gradients (norm 1.0) and "
            "weights the loss by class.",
        ]
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, nargs="+", default=[1], help="torch thread counts")
    arguments = parser.parse_args()
    data = load_dataset()
    text = report(data, measure(data, sorted(set(arguments.threads))))
    print(text)
    RESULTS_DIR.mkdir(exist_ok=True)
    (RESULTS_DIR / "training.md").write_text(text + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
