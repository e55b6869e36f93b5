"""How long a 1,000,000-bar backtest's report takes to build, and how big it is.

Writes a backtest's artifacts as the job does (equity.parquet with equity, target_position and
close; trades.parquet) and its bars as a stored data set, then times ``ReportBuilder.render``:
read the artifacts and the bars, down-sample, draw, render the self-contained page (plotly.js
inlined). The peer, in the same run: the equity curve alone drawn with plotly as-is (every
point, no down-sampling) on a page of its own.
"""

from __future__ import annotations

import argparse
import re
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd
import plotly.graph_objects as go
from _common import RESULTS_DIR, best_time, describe_machine, machine_markdown, markdown_table

from ktrdr.data import DataRepository
from ktrdr.operations import OperationsService, OperationsStore
from ktrdr.reports import ReportBuilder

TARGET_SECONDS = 2.0
TARGET_BYTES = 10_000_000


def market(n_bars: int, seed: int = 0) -> pd.DataFrame:
    """Minute bars of a random walk, 24/7."""
    rng = np.random.default_rng(seed)
    close = 100.0 * np.exp(np.cumsum(rng.normal(0.0, 5e-4, n_bars)))
    open_ = np.concatenate([[close[0]], close[:-1]])
    spread = np.abs(rng.normal(0.0, 3e-4, n_bars)) * close
    index = pd.date_range("2020-01-01", periods=n_bars, freq="min", tz="UTC", name="time")
    return pd.DataFrame(
        {
            "open": open_,
            "high": np.maximum(open_, close) + spread,
            "low": np.minimum(open_, close) - spread,
            "close": close,
            "volume": rng.integers(1, 1000, n_bars).astype(np.float64),
        },
        index=index,
    )


def artifacts(bars: pd.DataFrame, n_trades: int, folder: Path) -> dict[str, str]:
    """An equity curve and ``n_trades`` round trips over ``bars``, written as the job writes."""
    rng = np.random.default_rng(1)
    n = len(bars)
    equity = pd.DataFrame(
        {
            "equity": 1e5 * np.cumprod(1 + rng.normal(2e-6, 4e-4, n)),
            "target_position": rng.choice(np.array([-1, 0, 1], dtype=np.int8), n),
            "close": bars["close"].to_numpy(),
        },
        index=bars.index,
    )
    entries = np.sort(rng.choice(n - 50, n_trades, replace=False))
    exits = entries + rng.integers(1, 40, n_trades)
    entry_price, exit_price = bars["open"].to_numpy()[entries], bars["open"].to_numpy()[exits]
    direction = rng.choice([-1, 1], n_trades)
    trades = pd.DataFrame(
        {
            "entry_time": bars.index[entries],
            "exit_time": bars.index[exits],
            "entry_price": entry_price,
            "exit_price": exit_price,
            "direction": direction,
            "size": 1000.0,
            "pnl": direction * (exit_price - entry_price) * 1000.0,
            "return": direction * (exit_price / entry_price - 1.0),
            "costs": 0.1,
            "bars_held": exits - entries,
            "open_at_end": False,
            "exit_reason": rng.choice(["signal", "stop", "take_profit", "trailing_stop"], n_trades),
        }
    )
    equity.to_parquet(folder / "equity.parquet")
    trades.to_parquet(folder / "trades.parquet")
    return {"equity": str(folder / "equity.parquet"), "trades": str(folder / "trades.parquet")}


def operation(bars: pd.DataFrame, paths: dict[str, str], n_trades: int) -> dict:
    """The JSON of the completed backtesting operation those artifacts belong to."""
    return {
        "operation_id": "op_backtesting_bench",
        "operation_type": "backtesting",
        "status": "completed",
        "metadata": {"symbol": "BENCH", "timeframe": "1m", "parameters": {"strategy_name": "b"}},
        "result_summary": {
            "mode": "range",
            "metrics": {"total_trades": n_trades},
            "start_date": bars.index[0].isoformat(),
            "end_date": bars.index[-1].isoformat(),
            "bars": len(bars),
            "artifacts": paths,
        },
    }


def main() -> int:
    """Measure, print, and write benchmarks/results/report_page.md; non-zero if a target fails."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--bars", type=int, default=1_000_000)
    parser.add_argument("--trades", type=int, default=20_000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="ktrdr-report-bench-") as tmp:
        home = Path(tmp)
        bars = market(args.bars)
        DataRepository(home / "data", bundled=False).write_bars("BENCH", "1m", bars)
        paths = artifacts(bars, args.trades, home)
        store = OperationsStore.from_url(f"sqlite:///{home / 'ktrdr.db'}")
        builder = ReportBuilder(OperationsService(store), DataRepository(home / "data"), home)
        op = operation(bars, paths, args.trades)
        builder.render(op)  # warm-up: imports plotly, first parquet reads
        seconds, page = best_time(lambda: builder.render(op), args.repeat)
        size = len(page.encode())
        network = re.findall(r"<script[^>]+src=[\"']?https?://", page, flags=re.IGNORECASE)
        started = time.perf_counter()
        equity = pd.read_parquet(paths["equity"])["equity"]
        naive = go.Figure(go.Scatter(x=equity.index, y=equity.to_numpy())).to_html(
            include_plotlyjs=True
        )
        naive_seconds, naive_size = time.perf_counter() - started, len(naive.encode())
        store.dispose()
    met = seconds <= TARGET_SECONDS and size <= TARGET_BYTES and not network
    rows = [
        (f"backtest report, {args.bars:,} bars, {args.trades:,} trades", f"{seconds:.2f} s",
         f"{size / 1e6:.1f} MB", "≤ 2 s and ≤ 10 MB: " + ("met" if met else "**not met**")),
        ("peer: the equity curve alone, every point, plotly as-is", f"{naive_seconds:.2f} s",
         f"{naive_size / 1e6:.1f} MB", f"ktrdr page {naive_seconds / seconds:.1f}× faster, "
         f"{naive_size / size:.1f}× smaller"),
    ]  # fmt: skip
    report = "\n\n".join(
        [
            "# Report page build",
            f"`python benchmarks/report_page.py --bars {args.bars} --trades {args.trades} "
            f"--repeat {args.repeat}` (best of {args.repeat}, after one warm-up build)",
            machine_markdown(describe_machine(("numpy", "pandas", "plotly", "pyarrow"))),
            markdown_table(("what", "build time", "page size", "verdict"), rows),
            f"Scripts loaded from the network: {len(network)}.",
        ]
    )
    print(report)
    RESULTS_DIR.mkdir(exist_ok=True)
    (RESULTS_DIR / "report_page.md").write_text(report + "\n")
    return 0 if met else 1


if __name__ == "__main__":
    sys.exit(main())
