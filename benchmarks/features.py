"""Benchmark the feature pipeline: 1,000,000 minute bars, 10 indicators, 10 fuzzy sets.

Times ``FeaturePipeline.compute`` + ``fit_normalization`` (on the first 70 % of rows) +
``model_inputs`` on seeded random-walk bars (target: at most 2 s), and in the same run:

- the 30 memberships against the naive way, ``pd.Series.apply`` of a per-element Python
  function (benchmarks/peers/naive_memberships.py) on the same indicator values;
- each indicator against pandas-ta's own implementation (TA-Lib disabled) on the same bars,
  in a subprocess under a Python 3.12 venv cached in bench-results/peer-venv (git-ignored),
  with the outputs' agreement after the warm-up.

If the pipeline misses the target, a cProfile of one run is added to the results. Run from the
repository root (writes benchmarks/results/features.md and prints it):

    PYTHONPATH=. .venv/bin/python benchmarks/features.py
"""

from __future__ import annotations

import argparse
import cProfile
import io
import os
import pstats
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import RESULTS_DIR, describe_machine, machine_markdown, markdown_table
from peers.naive_memberships import naive_membership_degrees
from peers.pandas_ta_runner import peer_python, run_pandas_ta

from ktrdr.features.builder import FeaturePipeline
from ktrdr.features.fuzzy import membership_degrees
from ktrdr.features.indicators import compute_indicator
from ktrdr.strategy import validate_strategy

COMMAND = "PYTHONPATH=. .venv/bin/python benchmarks/features.py"

BARS = 1_000_000
NAIVE_FALLBACK_BARS = 100_000
NAIVE_LIMIT_S = 120.0
REPEAT = 5
SEED = 7
TARGET_S = 2.0
TRAIN_FRACTION = 0.7
AGREEMENT_SKIP = 1_000  # bars skipped before comparing outputs (seeding differences fade)
AGREEMENT_MIN_CORR = 0.999
# Explanations of disagreements found by reading the peer's source; shown only if they disagree.
KNOWN_PEER_ISSUES = {
    "cci_20": "pandas-ta 0.4.71b0 `cci` (talib=False) computes `tp - sma(tp) / (c * mad(tp))`: "
    "the parentheses around `tp - sma(tp)` are missing, so its output is not the CCI. The "
    "timing still covers the same work (typical price, SMA, rolling mean absolute deviation).",
}

STRATEGY: dict[str, Any] = {
    "name": "features_benchmark",
    "version": "3.0",
    "training_data": {
        "symbols": {"mode": "single", "symbol": "SYNTH"},
        "timeframes": {"mode": "single", "timeframe": "1m"},
        "date_range": {"start": "2020-01-01", "end": "2021-12-31"},
    },
    "indicators": {
        "rsi_14": {"type": "rsi", "period": 14},
        "ema_20": {"type": "ema", "period": 20},
        "sma_50": {"type": "sma", "period": 50},
        "macd_std": {"type": "macd", "fast_period": 12, "slow_period": 26, "signal_period": 9},
        "atr_14": {"type": "atr", "period": 14},
        "bb_20": {"type": "bbands", "period": 20, "multiplier": 2.0},
        "stoch_14": {"type": "stochastic", "k_period": 14, "d_period": 3, "smooth_k": 3},
        "cci_20": {"type": "cci", "period": 20},
        "adx_14": {"type": "adx", "period": 14},
        "roc_10": {"type": "roc", "period": 10},
    },
    "fuzzy_sets": {
        "rsi_zone": {
            "indicator": "rsi_14",
            "oversold": [0, 20, 35],
            "neutral": [30, 50, 70],
            "overbought": [65, 80, 100, 100],
        },
        "ema_level": {
            "indicator": "ema_20",
            "low": {"type": "sigmoid", "parameters": [95, -0.5]},
            "mid": {"type": "gaussian", "parameters": [105, 5]},
            "high": {"type": "sigmoid", "parameters": [115, 0.5]},
        },
        "sma_level": {
            "indicator": "sma_50",
            "low": [0, 0, 95, 100],
            "mid": [95, 105, 115],
            "high": [110, 120, 1000, 1000],
        },
        "macd_momentum": {
            "indicator": "macd_std.histogram",
            "falling": {"type": "sigmoid", "parameters": [-0.005, -400]},
            "flat": {"type": "gaussian", "parameters": [0, 0.005]},
            "rising": {"type": "sigmoid", "parameters": [0.005, 400]},
        },
        "volatility": {
            "indicator": "atr_14",
            "low": [0, 0, 0.035, 0.04],
            "normal": {"type": "gaussian", "parameters": [0.042, 0.004]},
            "high": [0.045, 0.05, 10, 10],
        },
        "bb_upper_level": {
            "indicator": "bb_20.upper",
            "below": {"type": "sigmoid", "parameters": [100, -0.3]},
            "around": [95, 105, 115],
            "above": {"type": "sigmoid", "parameters": [110, 0.3]},
        },
        "stoch_zone": {
            "indicator": "stoch_14.k",
            "oversold": [0, 0, 10, 25],
            "middle": {"type": "gaussian", "parameters": [50, 15]},
            "overbought": [75, 90, 100, 100],
        },
        "cci_zone": {
            "indicator": "cci_20",
            "below": {"type": "sigmoid", "parameters": [-100, -0.05]},
            "neutral": [-100, 0, 100],
            "above": {"type": "sigmoid", "parameters": [100, 0.05]},
        },
        "trend_strength": {
            "indicator": "adx_14.adx",
            "weak": [0, 0, 15, 22],
            "moderate": [17, 25, 33],
            "strong": [28, 40, 100, 100],
        },
        "roc_zone": {
            "indicator": "roc_10",
            "falling": {"type": "sigmoid", "parameters": [-0.08, -60]},
            "flat": {"type": "gaussian", "parameters": [0, 0.05]},
            "rising": {"type": "sigmoid", "parameters": [0.08, 60]},
        },
    },
    "nn_inputs": [
        *(
            {"fuzzy_set": name, "timeframes": "all"}
            for name in (
                "rsi_zone",
                "ema_level",
                "sma_level",
                "macd_momentum",
                "volatility",
                "bb_upper_level",
                "stoch_zone",
                "cci_zone",
                "trend_strength",
                "roc_zone",
            )
        ),
        {"raw_indicator": "macd_std.histogram", "timeframes": "all", "normalization": "zscore"},
        {"raw_indicator": "atr_14", "timeframes": "all", "normalization": "minmax"},
    ],
    "model": {
        "type": "mlp",
        "architecture": {"hidden_layers": [32], "dropout": 0.1, "activation": "relu"},
        "lookback": 1,
        "seed": 1,
    },
    "decisions": {"output_format": "classification", "confidence_threshold": 0.5},
    "training": {
        "labels": {"source": "forward_return", "horizon": 10, "threshold": 0.001},
        "data_split": {"train": 0.7, "validation": 0.15, "test": 0.15},
        "epochs": 1,
        "learning_rate": 0.001,
        "batch_size": 64,
    },
}


def random_walk_bars(n: int, seed: int) -> pd.DataFrame:
    """Seeded geometric random-walk one-minute bars (about 100, 0.02 % per bar) in the contract."""
    rng = np.random.default_rng(seed)
    close = 100.0 * np.exp(np.cumsum(rng.normal(0.0, 2e-4, n)))
    open_ = np.concatenate([[100.0], close[:-1]])
    high = np.maximum(open_, close) * (1.0 + np.abs(rng.normal(0.0, 1.5e-4, n)))
    low = np.minimum(open_, close) * (1.0 - np.abs(rng.normal(0.0, 1.5e-4, n)))
    index = pd.date_range("2020-01-01", periods=n, freq="1min", tz="UTC", name="timestamp")
    volume = rng.gamma(2.0, 500.0, n)
    return pd.DataFrame(
        {"open": open_, "high": high, "low": low, "close": close, "volume": volume}, index=index
    )


def timings(function: Callable[[], Any], repeat: int) -> tuple[list[float], Any]:
    """Wall times (s) of ``repeat`` calls and the last result."""
    seconds, result = [], None
    for _ in range(repeat):
        start = time.perf_counter()
        result = function()
        seconds.append(time.perf_counter() - start)
    return seconds, result


def fmt(seconds: float) -> str:
    """Seconds with three significant digits: 1.23 s, 45.6 ms."""
    return f"{seconds:.3g} s" if seconds >= 1.0 else f"{seconds * 1e3:.3g} ms"


def pipeline_run(pipeline: FeaturePipeline, bars: pd.DataFrame) -> dict[str, float]:
    """One full run, timed per stage: compute, fit_normalization, model_inputs."""
    start = time.perf_counter()
    features = pipeline.compute({"1m": bars})
    computed = time.perf_counter()
    train_rows = features.frame.iloc[: int(len(features.frame) * TRAIN_FRACTION)]
    normalization = pipeline.fit_normalization(train_rows)
    fitted = time.perf_counter()
    inputs = pipeline.model_inputs(features, normalization)
    done = time.perf_counter()
    return {
        "compute": computed - start,
        "fit_normalization": fitted - computed,
        "model_inputs": done - fitted,
        "total": done - start,
        "shape": inputs.values.shape,
    }


def measure_pipeline(pipeline: FeaturePipeline, bars: pd.DataFrame, repeat: int) -> list[dict]:
    """``repeat`` full pipeline runs (after one warm-up run)."""
    pipeline_run(pipeline, bars)
    return [pipeline_run(pipeline, bars) for _ in range(repeat)]


def profile_pipeline(pipeline: FeaturePipeline, bars: pd.DataFrame, top: int = 15) -> str:
    """cProfile of one pipeline run: the top functions by cumulative and by own time."""
    profiler = cProfile.Profile()
    profiler.runcall(pipeline_run, pipeline, bars)
    out = io.StringIO()
    stats = pstats.Stats(profiler, stream=out).strip_dirs()
    stats.sort_stats("cumulative").print_stats(top)
    stats.sort_stats("tottime").print_stats(top)
    return out.getvalue()


def membership_jobs(strategy: Any, bars: pd.DataFrame) -> list[tuple[str, str, list, np.ndarray]]:
    """(name, type, parameters, indicator values) for each of the strategy's memberships."""
    jobs = []
    for set_name, fuzzy in strategy.fuzzy_sets.items():
        indicator_id, _, output = fuzzy.indicator.partition(".")
        indicator = strategy.indicators[indicator_id]
        values = compute_indicator(indicator.type, indicator.params, bars)[output or "value"]
        for name, function in fuzzy.memberships.items():
            jobs.append((f"{set_name}.{name}", function.type, function.parameters, values))
    return jobs


def compute_memberships(jobs: list, size: int, function: Callable) -> list[np.ndarray]:
    """Every job's degrees on its first ``size`` values with ``function``."""
    return [function(kind, params, values[:size]) for _, kind, params, values in jobs]


def measure_memberships(jobs: list, n: int, repeat: int) -> dict[str, Any]:
    """Ours (vectorised) against the naive per-element apply, at the same size on both sides."""
    start = time.perf_counter()
    compute_memberships(jobs, 20_000, naive_membership_degrees)
    estimate = (time.perf_counter() - start) * n / 20_000
    size = n if estimate <= NAIVE_LIMIT_S else min(n, NAIVE_FALLBACK_BARS)
    naive_s, naive = timings(lambda: compute_memberships(jobs, size, naive_membership_degrees), 1)
    ours_s, ours = timings(lambda: compute_memberships(jobs, size, membership_degrees), repeat)
    agree = all(
        np.allclose(a, b, rtol=1e-9, atol=1e-12, equal_nan=True)
        for a, b in zip(ours, naive, strict=True)
    )
    return {
        "n": n,
        "size": size,
        "estimate_full_s": estimate,
        "naive_s": naive_s[0],
        "ours_best": min(ours_s),
        "ours_median": statistics.median(ours_s),
        "agree": agree,
    }


def agreement(ours: np.ndarray, theirs: np.ndarray) -> tuple[float, float]:
    """Correlation and max |difference| relative to max |ours|, after the warm-up skip."""
    a, b = ours[AGREEMENT_SKIP:], theirs[AGREEMENT_SKIP:]
    both = np.isfinite(a) & np.isfinite(b)
    a, b = a[both], b[both]
    return float(np.corrcoef(a, b)[0, 1]), float(np.max(np.abs(a - b)) / np.max(np.abs(a)))


def measure_indicators(strategy: Any, bars: pd.DataFrame, repeat: int) -> dict[str, Any]:
    """Ours against pandas-ta per indicator, same bars, with agreement of every output."""
    python, how = peer_python()
    if python is None:
        return {"error": how}
    report, theirs = run_pandas_ta(python, bars, repeat)
    rows = []
    for indicator_id, peer in report["timings"].items():
        indicator = strategy.indicators[indicator_id]
        seconds, ours = timings(
            lambda i=indicator: compute_indicator(i.type, i.params, bars), repeat
        )
        checks = [
            (output, *agreement(values, theirs[f"{indicator_id}.{output}"]))
            for output, values in ours.items()
        ]
        rows.append(
            {
                "id": indicator_id,
                "ours_best": min(seconds),
                "ours_median": statistics.median(seconds),
                "peer_best": peer["best"],
                "peer_median": peer["median"],
                "checks": checks,
            }
        )
    return {"rows": rows, "versions": report["versions"], "venv": how}


def pipeline_section(runs: list[dict], n: int) -> str:
    """Markdown for the pipeline timings: best and median total, stage split of the best run."""
    totals = [run["total"] for run in runs]
    best = min(runs, key=lambda run: run["total"])
    verdict = "met" if best["total"] <= TARGET_S else "MISSED"
    rows = [
        (stage, fmt(best[stage]), fmt(statistics.median(run[stage] for run in runs)))
        for stage in ("compute", "fit_normalization", "model_inputs", "total")
    ]
    return "\n\n".join(
        [
            f"### Pipeline: {n:,} bars -> {best['shape'][0]:,} x {best['shape'][1]} matrix",
            markdown_table(("stage", "best", "median"), rows),
            f"Target <= {TARGET_S:g} s: **{verdict}** (best {fmt(min(totals))}, median "
            f"{fmt(statistics.median(totals))}, {len(runs)} runs after one warm-up).",
        ]
    )


def membership_section(result: dict[str, Any]) -> str:
    """Markdown for ours against the naive per-element apply."""
    size = result["size"]
    ratio = result["naive_s"] / result["ours_best"]
    row = (
        f"{size:,}",
        f"{fmt(result['ours_best'])} / {fmt(result['ours_median'])}",
        fmt(result["naive_s"]),
        f"{ratio:,.0f}x",
        "yes" if result["agree"] else "NO",
    )
    headers = ("bars", "ours best / median", "naive apply (1 run)", "naive / ours", "equal")
    note = (
        f"The naive way was estimated (from 20,000 bars) at {result['estimate_full_s']:.0f} s "
        f"for {result['n']:,} bars, over the {NAIVE_LIMIT_S:.0f} s limit, so both sides were "
        f"measured at {size:,} bars."
        if size < result["n"]
        else "Both sides measured at the full size."
    )
    return "\n\n".join(
        [
            "### 30 memberships: vectorised numpy vs per-element `pd.Series.apply`",
            markdown_table(headers, [row]),
            note + " `equal`: allclose(rtol 1e-9) with NaN where the indicator warms up.",
        ]
    )


def indicator_section(result: dict[str, Any], n: int) -> str:
    """Markdown for ours against pandas-ta, per indicator, with output agreement."""
    if "error" in result:
        return f"### Indicators vs pandas-ta\n\npandas-ta could not be run: {result['error']}"
    rows, ours_total, peer_total = [], 0.0, 0.0
    for row in result["rows"]:
        ours_total += row["ours_best"]
        peer_total += row["peer_best"]
        checks = ", ".join(f"{o} {c:.6f} / {d:.1e}" for o, c, d in row["checks"])
        rows.append(
            (
                row["id"],
                f"{fmt(row['ours_best'])} / {fmt(row['ours_median'])}",
                f"{fmt(row['peer_best'])} / {fmt(row['peer_median'])}",
                f"{row['peer_best'] / row['ours_best']:.1f}x",
                checks,
            )
        )
    rows.append(
        ("**all 10**", fmt(ours_total), fmt(peer_total), f"{peer_total / ours_total:.1f}x", "")
    )
    disagreeing = [
        row["id"]
        for row in result["rows"]
        if min(c for _, c, _ in row["checks"]) < AGREEMENT_MIN_CORR
    ]
    notes = [
        f"- {i}: {KNOWN_PEER_ISSUES.get(i, 'disagreement not explained')}" for i in disagreeing
    ]
    versions = ", ".join(f"{k} {v}" for k, v in result["versions"].items())
    headers = (
        "indicator",
        "ours best / median",
        "pandas-ta best / median",
        "pandas-ta / ours",
        "agreement: output corr / max rel diff",
    )
    return "\n\n".join(
        [
            f"### Indicators vs pandas-ta ({n:,} bars, same bars)",
            markdown_table(headers, rows),
            f"pandas-ta ran in a subprocess ({versions}; venv {result['venv']}, "
            "bench-results/peer-venv) with `talib=False`: its own implementations. Agreement "
            f"is over bars {AGREEMENT_SKIP:,}+ where both are defined; max rel diff = "
            "max |ours - theirs| / max |ours|.",
            *(
                ["Outputs that disagree (correlation < 0.999):\n\n" + "\n".join(notes)]
                if notes
                else []
            ),
        ]
    )


def report(sections: list[str], load: tuple[float, float, float]) -> str:
    """The whole results file."""
    machine = describe_machine(("numpy", "pandas", "numba", "TA-Lib"))
    header = [
        "## Feature pipeline benchmark",
        f"Command: `{COMMAND}`",
        machine_markdown(machine)
        + f"\n- load average at start: {load[0]:.2f} (other work shares these cores)",
    ]
    return "\n\n".join(header + sections) + "\n"


def main() -> None:
    """Run every measurement, write benchmarks/results/features.md and print it."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bars", type=int, default=BARS)
    parser.add_argument("--repeat", type=int, default=REPEAT)
    parser.add_argument("--output", type=Path, default=RESULTS_DIR / "features.md")
    args = parser.parse_args()
    load = os.getloadavg()
    strategy = validate_strategy(STRATEGY)
    bars = random_walk_bars(args.bars, SEED)
    pipeline = FeaturePipeline(strategy)
    runs = measure_pipeline(pipeline, bars, args.repeat)
    sections = [pipeline_section(runs, args.bars)]
    if min(run["total"] for run in runs) > TARGET_S:
        sections.append(f"### Profile of one run\n\n```\n{profile_pipeline(pipeline, bars)}```")
    jobs = membership_jobs(strategy, bars)
    sections.append(membership_section(measure_memberships(jobs, args.bars, args.repeat)))
    sections.append(indicator_section(measure_indicators(strategy, bars, args.repeat), args.bars))
    text = report(sections, load)
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(text)
    print(text)


if __name__ == "__main__":
    main()
