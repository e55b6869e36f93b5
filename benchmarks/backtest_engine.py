"""Benchmark simulate_positions against vectorbt and backtesting.py on the same positions.

Each engine trades the same precomputed SMA(10/30) crossover long/short positions on seeded
random-walk minute bars: decided at a bar's close, filled at the next open, 50 % of equity per
entry, zero costs. The engines must agree on trade counts and final returns; the script prints
the agreement next to the timings. ktrdr closes a position still open at the end at the last
close and charges its exit cost; the peers leave it open, marked at the last close. With zero
costs the two agree exactly, which is why the comparison runs without costs. Run from the
repository root:

    PYTHONPATH=. .venv/bin/python benchmarks/backtest_engine.py
"""

from __future__ import annotations

import os
import resource
import statistics
import sys
import warnings
from dataclasses import dataclass
from pathlib import Path

os.environ.setdefault("TQDM_DISABLE", "1")  # backtesting.py's progress bar

import numpy as np
import pandas as pd
import talib
import vectorbt as vbt
from backtesting import Strategy
from backtesting.lib import FractionalBacktest

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import (
    RESULTS_DIR,
    best_time,
    describe_machine,
    machine_markdown,
    markdown_table,
)

from ktrdr.backtesting import simulate_positions
from ktrdr.backtesting.exits import new_state_nb
from ktrdr.backtesting.fills import TRADE_RECORD_DTYPE
from ktrdr.backtesting.nb import simulate_positions_nb

SIZES = (10_000, 100_000, 1_000_000)
REPEAT = 3
KERNEL_ROUNDS = 30
FAULTING = 100  # minor page faults in one call
SEED = 42
CAPITAL = 100_000.0
# backtesting.py sizes a fraction of equity only strictly below 1, so every engine uses 0.5.
FRACTION = 0.5
BACKTESTING_PY_LIMIT_S = 60.0
COMMAND = "PYTHONPATH=. .venv/bin/python benchmarks/backtest_engine.py"


@dataclass(frozen=True)
class Run:
    """One engine's measured run: best wall time, trade count, final return."""

    engine: str
    bars: int
    seconds: float
    trades: int
    final_return: float


def random_walk_bars(n: int, seed: int) -> pd.DataFrame:
    """Seeded geometric random-walk one-minute bars in the ktrdr bars contract."""
    rng = np.random.default_rng(seed)
    close = 100.0 * np.exp(np.cumsum(rng.normal(0.0, 1e-3, n)))
    open_ = np.concatenate([[100.0], close[:-1]]) * np.exp(rng.normal(0.0, 2e-4, n))
    index = pd.date_range("2020-01-01", periods=n, freq="1min", tz="UTC", name="timestamp")
    return pd.DataFrame(
        {
            "open": open_,
            "high": np.maximum(open_, close) * 1.0005,
            "low": np.minimum(open_, close) * 0.9995,
            "close": close,
            "volume": np.full(n, 1_000.0),
        },
        index=index,
    )


def sma_crossover_positions(close: np.ndarray) -> np.ndarray:
    """+1 while SMA(10) > SMA(30), -1 while below, 0 during the warm-up."""
    fast, slow = talib.SMA(close, 10), talib.SMA(close, 30)
    return np.where(np.isnan(slow), 0, np.sign(fast - slow)).astype(np.int8)


def run_ktrdr(bars: pd.DataFrame, target: np.ndarray) -> Run:
    def simulate():
        return simulate_positions(bars, target, position_fraction=FRACTION, initial_capital=CAPITAL)

    seconds, result = best_time(simulate, REPEAT)
    return Run("ktrdr", len(bars), seconds, len(result.trades), result.metrics["total_return"])


@dataclass(frozen=True)
class KernelAndCall:
    """Best and median seconds of the kernel alone and of the whole call, timed in turns, and
    how many calls took page faults (over FAULTING minor faults) with their median count."""

    kernel_best: float
    kernel_median: float
    call_best: float
    call_median: float
    faulting_calls: int
    faults_median: float


def kernel_and_call(bars: pd.DataFrame, target: np.ndarray) -> KernelAndCall:
    """Time the numba kernel alone (no validation, table, metrics) and the whole public call.

    The two alternate, ``KERNEL_ROUNDS`` times each, so that both see the same state of a
    shared machine; the kernel reuses its output arrays, the call allocates its own.
    """
    n = len(bars)
    open_, close = bars["open"].to_numpy(), bars["close"].to_numpy()
    none, fraction = np.full(1, np.nan), np.full(1, FRACTION)
    equity, records = np.empty(n), np.empty(n, dtype=TRADE_RECORD_DTYPE)

    def kernel():
        return simulate_positions_nb(
            open_, open_, open_, close, target, False, none, none, none, fraction, 0.0, 0.0,
            np.zeros(1), CAPITAL, equity, records, new_state_nb(),
        )  # fmt: skip

    def call():
        return simulate_positions(bars, target, position_fraction=FRACTION, initial_capital=CAPITAL)

    kernel(), call()
    kernels, calls, faults = [], [], []
    for _ in range(KERNEL_ROUNDS):
        kernels.append(best_time(kernel, 1)[0])
        before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
        calls.append(best_time(call, 1)[0])
        faults.append(resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before)
    faulting = [count for count in faults if count > FAULTING]
    return KernelAndCall(
        min(kernels),
        statistics.median(kernels),
        min(calls),
        statistics.median(calls),
        len(faulting),
        statistics.median(faulting) if faulting else 0.0,
    )


def run_vectorbt(bars: pd.DataFrame, target: np.ndarray) -> Run:
    # An order only where the filled position changes: target % of equity, at the next open.
    filled = np.concatenate([[0], target[:-1]])
    changed = filled != np.concatenate([[0], filled[:-1]])
    size = np.where(changed, filled * FRACTION, np.nan)
    # Plain arrays: vectorbt's wrapping of a tz-aware DatetimeIndex costs it ~10x at 100k bars.
    close, open_ = bars["close"].to_numpy(), bars["open"].to_numpy()

    def simulate():
        portfolio = vbt.Portfolio.from_orders(
            close=close,
            size=size,
            size_type="targetpercent",
            price=open_,
            init_cash=CAPITAL,
            direction="both",
        )
        return portfolio.trades.count(), portfolio.total_return()

    seconds, (trades, final_return) = best_time(simulate, REPEAT)
    return Run("vectorbt", len(bars), seconds, int(trades), float(final_return))


class PrecomputedPositions(Strategy):
    """Trade the ``Target`` column: +1 buy, -1 sell, 0 close, FRACTION of equity per entry."""

    def init(self) -> None:
        pass

    def next(self) -> None:
        target = self.data.Target[-1]
        held = 1 if self.position.is_long else (-1 if self.position.is_short else 0)
        if target == held:
            return
        if target == 0:
            self.position.close()
        elif target > 0:
            self.buy(size=FRACTION)
        else:
            self.sell(size=FRACTION)


def run_backtesting_py(bars: pd.DataFrame, target: np.ndarray, repeat: int) -> Run:
    data = bars.rename(columns=str.capitalize).assign(Target=target)
    # FractionalBacktest trades micro-units, so sizes match the fractional engines to ~1e-10;
    # finalize_trades=False leaves the last trade open and the equity marked at the last close.
    backtest = FractionalBacktest(
        data,
        PrecomputedPositions,
        cash=CAPITAL,
        trade_on_close=False,
        exclusive_orders=True,
        finalize_trades=False,
        fractional_unit=1e-6,
    )

    def simulate():
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return backtest.run()

    seconds, stats = best_time(simulate, repeat)
    trades = int(stats["# Trades"]) + len(stats["_strategy"].trades)
    final_return = stats["Equity Final [$]"] / CAPITAL - 1.0
    return Run("backtesting.py", len(bars), seconds, trades, float(final_return))


def warm_up() -> None:
    """Compile or load every engine's JIT code so timings are warm."""
    bars = random_walk_bars(1_000, SEED)
    target = sma_crossover_positions(bars["close"].to_numpy())
    run_ktrdr(bars, target)
    run_vectorbt(bars, target)


def measure() -> tuple[list[Run], list[str], dict[int, KernelAndCall]]:
    runs: list[Run] = []
    skipped: list[str] = []
    kernels: dict[int, KernelAndCall] = {}
    previous: Run | None = None
    for n in SIZES:
        bars = random_walk_bars(n, SEED)
        target = sma_crossover_positions(bars["close"].to_numpy())
        kernels[n] = kernel_and_call(bars, target)
        runs += [run_ktrdr(bars, target), run_vectorbt(bars, target)]
        if previous and previous.seconds * n / previous.bars > BACKTESTING_PY_LIMIT_S:
            skipped.append(
                f"backtesting.py at {n:,} bars skipped: {previous.bars:,} bars took "
                f"{previous.seconds:.1f} s, so this size would exceed "
                f"~{BACKTESTING_PY_LIMIT_S:.0f} s"
            )
            continue
        previous = run_backtesting_py(bars, target, REPEAT if n <= 100_000 else 1)
        runs.append(previous)
    return runs, skipped, kernels


def kernel_table(kernels: dict[int, KernelAndCall]) -> str:
    """The whole public call against the kernel alone, per size."""
    rows = [
        [
            f"{n:,}",
            f"{timing.kernel_best * 1e3:.3f} / {timing.kernel_median * 1e3:.3f}",
            f"{timing.call_best * 1e3:.3f} / {timing.call_median * 1e3:.3f}",
            f"{timing.call_best / timing.kernel_best:.2f}x",
            f"{timing.call_median / timing.kernel_median:.2f}x",
            f"{timing.faulting_calls} of {KERNEL_ROUNDS} ({timing.faults_median:,.0f})",
        ]
        for n, timing in kernels.items()
    ]
    headers = [
        "bars",
        "kernel ms (best / median)",
        "simulate_positions ms (best / median)",
        "call / kernel, best",
        "call / kernel, median",
        "calls with page faults (median faults)",
    ]
    return (
        "## Public call vs kernel\n\n"
        f"simulate_positions_nb alone against the whole simulate_positions call (validation, "
        "kernel, metrics, trades table, equity Series) on the same bars and positions, timed in "
        f"turns, {KERNEL_ROUNDS} rounds each. The kernel writes into arrays it reuses; the call "
        "allocates its own, whose pages the system may have to fault in (a call counts as faulting "
        f"over {FAULTING} minor page faults).\n\n" + markdown_table(headers, rows)
    )


def report(runs: list[Run], skipped: list[str], kernels: dict[int, KernelAndCall]) -> str:
    ours = {run.bars: run for run in runs if run.engine == "ktrdr"}
    rows = []
    for run in runs:
        mine = ours[run.bars]
        speedup = "-" if run is mine else f"{run.seconds / mine.seconds:.1f}x"
        return_gap = abs(run.final_return - mine.final_return)
        agrees = run.trades == mine.trades and return_gap < 1e-8
        rows.append(
            [
                f"{run.bars:,}",
                run.engine,
                f"{run.seconds * 1e3:.1f}",
                f"{run.bars / run.seconds:,.0f}",
                run.trades,
                f"{run.final_return:.10f}",
                f"{return_gap:.1e}" if run is not mine else "-",
                "-" if run is mine else ("yes" if agrees else "NO"),
                speedup,
            ]
        )
    headers = [
        "bars",
        "engine",
        "time ms",
        "bars/s",
        "trades",
        "final return",
        "|return - ktrdr|",
        "agrees",
        "ktrdr speed-up",
    ]
    machine = describe_machine(("numpy", "pandas", "numba", "vectorbt", "backtesting"))
    return "\n\n".join(
        [
            "# Backtest engine: ktrdr simulate_positions vs vectorbt vs backtesting.py",
            "## Machine\n\n" + machine_markdown(machine),
            f"## Command\n\n    {COMMAND}",
            "## Setup\n\n"
            f"SMA(10/30) crossover long/short positions on seeded (seed {SEED}) random-walk "
            "one-minute bars; decided at the close, filled at the next open; "
            f"{FRACTION:.0%} of equity per entry; zero costs; initial capital {CAPITAL:,.0f}. "
            f"Times are the best of {REPEAT} warm runs (backtesting.py at 1,000,000 bars: "
            "one run). ktrdr's time covers the whole public call: validation, the numba "
            "kernel, the trades DataFrame, the equity Series and all metrics. vectorbt's "
            "covers Portfolio.from_orders (on plain arrays, its fastest input) plus its trade "
            "count and total return. "
            "backtesting.py's covers Backtest.run (FractionalBacktest, exclusive orders). "
            "Trades include a trade still open at the end (ktrdr closes it at the last close "
            "with its exit cost, the peers mark it there: equal at zero costs); agreement = "
            "same trade count and final returns within 1e-8.",
            "## Results\n\n" + markdown_table(headers, rows),
            kernel_table(kernels),
            *(["## Skipped\n\n" + "\n".join(f"- {line}" for line in skipped)] if skipped else []),
        ]
    )


def main() -> None:
    warm_up()
    runs, skipped, kernels = measure()
    text = report(runs, skipped, kernels)
    print(text)
    RESULTS_DIR.mkdir(exist_ok=True)
    (RESULTS_DIR / "backtest_engine.md").write_text(text + "\n")


if __name__ == "__main__":
    main()
