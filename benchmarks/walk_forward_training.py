"""Benchmark the training job's work: a walk-forward, seed-ensemble training against the single
split with one seed, on the same strategy and data (DESIGN §11; issue 13 targets <= 3x).

Strategy: examples/strategies/eurusd_rsi_macd_mlp.yaml (MLP [32, 16], 20 epochs, patience 5) on
the bundled EURUSD 1h bars 2017-04-19..2017-12-31. Each row times ``train_walk_forward``: the
look-ahead audit, features and labels (once), the per-training splits and normalisation, the
training and the out-of-sample evaluation; saving the bundles (a few ms) is not included.

- single split, 1 seed: ``evaluation: {folds: 0, seeds: 1}`` (the protocol before issue 13);
- walk-forward 4 folds x 3 seeds, batched: the default; the 15 networks (4 folds + final, 3
  seeds each) train together as one batched module;
- the same, one ensemble at a time: the 5 ensembles train one after another (3 seeds each,
  batched), as a worker would without batching the folds.

"ms per epoch run" divides the time by the epochs of the slowest member (an ensemble trains
until its last member stops), so it shows what batching costs apart from early stopping.

Early stopping makes a training's length depend on its seed (one seed may stop at epoch 6, an
ensemble runs until its slowest member stops), so every variant is run for several base seeds
and the times (each the best of ``--repeat`` runs) are summed.

Run from the repository root:
``.venv/bin/python benchmarks/walk_forward_training.py [--repeat 2] [--seeds 1 2 3 4 5]``
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import RESULTS_DIR, best_time, describe_machine, machine_markdown, markdown_table

from ktrdr.data import DataRepository
from ktrdr.strategy import load_strategy, strategy_to_dict, validate_strategy
from ktrdr.training import walk_forward

STRATEGY_FILE = Path(__file__).resolve().parents[1] / "examples/strategies/eurusd_rsi_macd_mlp.yaml"
SYMBOL, TIMEFRAME, START, END = "EURUSD", "1h", "2017-04-19", "2017-12-31"
SEEDS = (1, 2, 3, 4, 5)
COMMAND = ".venv/bin/python benchmarks/walk_forward_training.py"


def strategy_with(evaluation: dict[str, Any]):  # type: ignore[no-untyped-def]
    """The example strategy with another ``evaluation`` section."""
    data = strategy_to_dict(load_strategy(STRATEGY_FILE))
    data["evaluation"] = evaluation
    return validate_strategy(data)


def run(
    strategy, bars, batched_bytes: int, seed: int
) -> Callable[[], walk_forward.WalkForwardResult]:  # type: ignore[no-untyped-def]
    """A call of train_walk_forward with the batching limit ``batched_bytes``."""

    def call() -> walk_forward.WalkForwardResult:
        previous = walk_forward.BATCHED_INPUT_BYTES
        walk_forward.BATCHED_INPUT_BYTES = batched_bytes
        try:
            result = walk_forward.train_walk_forward(
                strategy, bars, seed=seed, device=torch.device("cpu")
            )
        finally:
            walk_forward.BATCHED_INPUT_BYTES = previous
        assert result is not None
        return result

    return call


def main() -> None:
    """Time the three variants and write benchmarks/results/walk_forward_training.md."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=2)
    parser.add_argument("--seeds", type=int, nargs="+", default=list(SEEDS))
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    with tempfile.TemporaryDirectory() as data_dir:
        bars = {
            SYMBOL: {TIMEFRAME: DataRepository(Path(data_dir)).load(SYMBOL, TIMEFRAME, START, END)}
        }
    single = strategy_with({"folds": 0, "seeds": 1})
    default = strategy_with({"folds": 4, "scheme": "anchored", "seeds": 3})
    variants = {
        "single split, 1 seed": (single, walk_forward.BATCHED_INPUT_BYTES),
        "walk-forward 4 folds x 3 seeds, batched": (default, walk_forward.BATCHED_INPUT_BYTES),
        "walk-forward 4 folds x 3 seeds, one ensemble at a time": (default, 0),
    }
    seconds = dict.fromkeys(variants, 0.0)
    epochs: dict[str, list[int]] = {name: [] for name in variants}
    accuracy: dict[str, list[float]] = {name: [] for name in variants}
    networks: dict[str, int] = {}
    # Variants alternate within each seed, so a busy spell on the machine hits them alike.
    for seed in args.seeds:
        for name, (strategy, batched_bytes) in variants.items():
            elapsed, result = best_time(run(strategy, bars, batched_bytes, seed), args.repeat)
            seconds[name] += elapsed
            epochs[name].append(max(o.epochs_run for o in result.outcomes))
            accuracy[name].append(result.test_metrics["test_accuracy"])
            networks[name] = sum(len(o.members) for o in result.outcomes)
        print(f"seed {seed}:", {k: round(v, 2) for k, v in seconds.items()}, flush=True)
    baseline = seconds["single split, 1 seed"]
    per_epoch_baseline = baseline / sum(epochs["single split, 1 seed"])
    rows = [
        [
            name,
            networks[name],
            " ".join(map(str, epochs[name])),
            f"{seconds[name]:.2f}",
            f"{seconds[name] / baseline:.2f}",
            f"{seconds[name] / sum(epochs[name]) * 1000:.0f}",
            f"{seconds[name] / sum(epochs[name]) / per_epoch_baseline:.2f}",
            f"{sum(accuracy[name]) / len(accuracy[name]):.3f}",
        ]
        for name in variants
    ]
    table = markdown_table(
        [
            "training",
            "networks",
            "epochs run per seed (slowest member)",
            f"total s over {len(args.seeds)} seeds",
            "ratio to single",
            "ms per epoch run",
            "per-epoch ratio",
            "mean OOS accuracy",
        ],
        rows,
    )
    text = "\n\n".join(
        [
            "## Walk-forward training vs single split",
            machine_markdown(describe_machine(("torch", "numpy"))),
            f"Command: `{COMMAND} --repeat {args.repeat} --threads {args.threads} "
            f"--seeds {' '.join(map(str, args.seeds))}`",
            table,
        ]
    )
    print(text)
    RESULTS_DIR.mkdir(exist_ok=True)
    (RESULTS_DIR / "walk_forward_training.md").write_text(text + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
