"""Benchmark stops and sweeps: ktrdr against vectorbt's from_signals with sl_stop / tp_stop.

1. One run with a stop loss and a take profit on 1,000,000 one-minute bars: simulate_positions
   against vectorbt's Portfolio.from_signals.
2. A 1,000-combination sweep (a 40 x 25 grid of stop loss x take profit on one signal) on
   20,000 bars: simulate_many (one parallel kernel) against vectorbt's broadcast of the same
   1,000 (sl_stop, tp_stop) columns in one from_signals call, and against 1,000 single
   simulate_positions calls.

The signal is a long-only SMA(10/30) crossover; every bar where it fills an entry or an exit is
made flat (open = high = low = close), so that the engines' rules coincide (ktrdr checks stops
from the entry bar on and fills a signal exit at the open before the bar's range; vectorbt
starts on the next bar and lets a stop hit in the bar win over the signal; see
tests/unit/backtesting/test_peer_cross_checks.py). Zero costs, 100 % of equity per entry. The
script prints the agreement (trade counts, final returns) next to the timings. Run from the
repository root:

    PYTHONPATH=. .venv/bin/python benchmarks/sweep.py
"""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass
from pathlib import Path

os.environ.setdefault("TQDM_DISABLE", "1")

import numpy as np
import pandas as pd
import vectorbt as vbt

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import RESULTS_DIR, best_time, describe_machine, machine_markdown, markdown_table
from backtest_engine import random_walk_bars, sma_crossover_positions

from ktrdr.backtesting import simulate_many, simulate_positions

SEED = 7
CAPITAL = 100_000.0
SINGLE_BARS = 1_000_000
SWEEP_BARS = 20_000
STOPS = np.linspace(0.001, 0.01, 40)
TARGETS = np.linspace(0.002, 0.02, 25)
REPEAT = 3
COMMAND = "PYTHONPATH=. .venv/bin/python benchmarks/sweep.py"


@dataclass(frozen=True)
class Timing:
    """One measured case: what ran, best wall time, trades, final return(s) summary."""

    case: str
    engine: str
    seconds: float
    trades: int
    final_return: float


def long_only_bars(n: int) -> tuple[pd.DataFrame, np.ndarray]:
    """Random-walk bars and a long-only SMA crossover target, fill bars made flat."""
    bars = random_walk_bars(n, SEED)
    target = np.maximum(sma_crossover_positions(bars["close"].to_numpy()), 0).astype(np.float64)
    filled = np.concatenate([[0.0], target[:-1]])
    fill_bar = filled != np.concatenate([[0.0], filled[:-1]])
    for column in ("high", "low", "close"):
        bars.loc[fill_bar, column] = bars.loc[fill_bar, "open"]
    return bars, target


def vectorbt_signals(target: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Entries and exits at the bar whose open fills them (ktrdr's decision bar + 1)."""
    filled = np.concatenate([[0.0], target[:-1]])
    before = np.concatenate([[0.0], filled[:-1]])
    return (filled == 1) & (before != 1), (filled != 1) & (before == 1)


def vectorbt_run(bars: pd.DataFrame, target: np.ndarray, sl_stop, tp_stop):
    """from_signals on plain arrays (its fastest input), filled at the open, 100 % of cash."""
    entries, exits = vectorbt_signals(target)
    columns = {name: bars[name].to_numpy() for name in ("open", "high", "low", "close")}
    if np.ndim(sl_stop):
        # One column broadcast against the (1, k) stops: vectorbt's parameter sweep.
        entries, exits = entries[:, None], exits[:, None]
        columns = {name: values[:, None] for name, values in columns.items()}
    return vbt.Portfolio.from_signals(
        close=columns["close"],
        entries=entries,
        exits=exits,
        price=columns["open"],
        open=columns["open"],
        high=columns["high"],
        low=columns["low"],
        sl_stop=sl_stop,
        tp_stop=tp_stop,
        size=1.0,
        size_type="percent",
        init_cash=CAPITAL,
    )


def single_run() -> list[Timing]:
    bars, target = long_only_bars(SINGLE_BARS)
    sl, tp = 0.003, 0.005
    seconds, ours = best_time(
        lambda: simulate_positions(bars, target, stop_loss=sl, take_profit=tp), REPEAT
    )
    mine = Timing("single run", "ktrdr", seconds, len(ours.trades), ours.metrics["total_return"])

    def theirs():
        portfolio = vectorbt_run(bars, target, sl, tp)
        return portfolio.trades.count(), portfolio.total_return()

    seconds, (count, total) = best_time(theirs, REPEAT)
    return [mine, Timing("single run", "vectorbt", seconds, int(count), float(total))]


def sweep() -> tuple[list[Timing], float, bool]:
    bars, target = long_only_bars(SWEEP_BARS)
    sl, tp = (grid.ravel() for grid in np.meshgrid(STOPS, TARGETS, indexing="ij"))
    seconds, table = best_time(
        lambda: simulate_many(bars, target[:, None], stop_loss=sl, take_profit=tp), REPEAT
    )
    ours_returns = table["total_return"].to_numpy()
    ours_trades = table["total_trades"].to_numpy()
    timings = [Timing("1,000-pair sweep", "ktrdr simulate_many", seconds, ours_trades.sum(), 0.0)]

    def theirs():
        portfolio = vectorbt_run(bars, target, sl[None, :], tp[None, :])
        return portfolio.trades.count().to_numpy(), portfolio.total_return().to_numpy()

    seconds, (counts, returns) = best_time(theirs, REPEAT)
    timings.append(Timing("1,000-pair sweep", "vectorbt broadcast", seconds, counts.sum(), 0.0))

    def singles():
        return [
            simulate_positions(bars, target, stop_loss=s, take_profit=t).metrics["total_return"]
            for s, t in zip(sl, tp, strict=True)
        ]

    seconds, single_returns = best_time(singles, 1)
    timings.append(Timing("1,000-pair sweep", "ktrdr 1,000 x simulate_positions", seconds, 0, 0.0))
    gap = float(np.max(np.abs(ours_returns - returns)))
    same_as_singles = bool(np.array_equal(ours_returns, np.asarray(single_returns)))
    return timings, gap, bool(np.array_equal(ours_trades, counts)) and same_as_singles


def warm_up() -> None:
    """Compile every engine's JIT code so timings are warm."""
    bars, target = long_only_bars(2_000)
    simulate_positions(bars, target, stop_loss=0.003, take_profit=0.005)
    simulate_many(bars, target[:, None], stop_loss=STOPS[:2], take_profit=TARGETS[:2])
    vectorbt_run(bars, target, 0.003, 0.005).total_return()
    vectorbt_run(bars, target, STOPS[None, :2], TARGETS[None, :2]).total_return()


def report(single: list[Timing], swept: list[Timing], gap: float, agree: bool) -> str:
    ours, peer = single
    rows = [
        [
            f"{SINGLE_BARS:,} bars, 1 run",
            f"{ours.seconds * 1e3:.1f}",
            f"vectorbt {peer.seconds * 1e3:.1f}",
            f"{peer.seconds / ours.seconds:.1f}x",
            f"trades {ours.trades} vs {peer.trades}; return gap "
            f"{abs(ours.final_return - peer.final_return):.1e}",
        ]
    ]
    mine = swept[0]
    for other in swept[1:]:
        rows.append(
            [
                f"{SWEEP_BARS:,} bars, 1,000 pairs",
                f"{mine.seconds * 1e3:.1f}",
                f"{other.engine} {other.seconds * 1e3:.1f}",
                f"{other.seconds / mine.seconds:.1f}x",
                (
                    f"trades {mine.trades:,} vs {other.trades:,}; max return gap {gap:.1e}"
                    if other.engine.startswith("vectorbt")
                    else f"rows equal the single runs: {'yes' if agree else 'NO'}"
                ),
            ]
        )
    machine = describe_machine(("numpy", "pandas", "numba", "vectorbt"))
    headers = ["case", "ktrdr ms", "peer ms", "ktrdr speed-up", "agreement"]
    return "\n\n".join(
        [
            "# Stops and sweeps: ktrdr vs vectorbt",
            "## Machine\n\n" + machine_markdown(machine),
            f"## Command\n\n    {COMMAND}",
            "## Setup\n\n"
            f"Long-only SMA(10/30) crossover on seeded (seed {SEED}) random-walk one-minute "
            "bars, every fill bar made flat so the engines' rules coincide; filled at the next "
            "open, 100 % of equity, zero costs. Single run: stop loss 0.3 %, take profit "
            f"0.5 %. Sweep: {len(STOPS)} stop losses ({STOPS[0]:.1%}..{STOPS[-1]:.1%}) x "
            f"{len(TARGETS)} take profits ({TARGETS[0]:.1%}..{TARGETS[-1]:.1%}) on one signal. "
            f"Best of {REPEAT} warm runs (the 1,000 single runs: one). ktrdr's times are the "
            "whole public call (simulate_many: all metrics of every pair; simulate_positions: "
            "trades, equity, metrics); vectorbt's are from_signals plus trade counts and total "
            "returns. simulate_many runs its columns on all usable cores; vectorbt on one.",
            "## Results\n\n" + markdown_table(headers, rows),
        ]
    )


def main() -> None:
    warm_up()
    single = single_run()
    swept, gap, agree = sweep()
    text = report(single, swept, gap, agree)
    print(text)
    RESULTS_DIR.mkdir(exist_ok=True)
    (RESULTS_DIR / "sweep.md").write_text(text + "\n")


if __name__ == "__main__":
    main()
