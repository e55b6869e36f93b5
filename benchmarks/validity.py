"""Does the research loop tell skill from luck? Research cycles on markets with nothing to learn
and on the bundled samples, with the quality gates opened (research_cycle.LENIENT_GATES) so that
every cycle whose model trades reaches a verdict.

Markets: (a) a null market, a driftless random walk (benchmarks/null_market.py, committed and
seeded); (c) a shuffled control, BTCUSD 1h with its bar returns in a random order (same
distribution, no time structure); (b) the bundled EURUSD 1h and BTCUSD 1h samples. Per market a
fresh `ktrdr serve` (throw-away KTRDR_HOME) runs N offline-designer cycles; after each, the final
model meets its holdout: in the cycle when the verdict was promising, else through
POST /holdout/evaluate (every look is counted in that throw-away store). Reported: how many
cycles were called promising (target on the null and shuffled markets: <= 5 %), how many of
those the holdout confirmed (target there: 0), and on the samples the Spearman rank correlation
between the research-window score (stitched walk-forward Sharpe) and the holdout Sharpe.

    .venv/bin/python benchmarks/validity.py [--cycles 12] [--markets null shuffled EURUSD BTCUSD]
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import RESULTS_DIR, describe_machine, machine_markdown, markdown_table
from null_market import random_walk_bars, shuffled_bars
from research_cycle import LENIENT_GATES, Server, wait_for

from ktrdr.data import DataRepository

COMMAND = ".venv/bin/python benchmarks/validity.py"
NULL_BARS = 8000
SEED = 7
HOLDOUT_TIMEOUT = 300.0
MARKETS = ("null", "shuffled", "EURUSD", "BTCUSD")


@dataclass(frozen=True)
class Outcome:
    """One cycle: its status, research-window verdict and score, and its holdout look."""

    status: str
    verdict: str | None
    reason: str
    score: float | None  # stitched walk-forward Sharpe (annualised), research window
    dsr: float | None
    n_trials: int | None
    holdout_verdict: str | None
    holdout_sharpe: float | None


def market_data(market: str, home: Path) -> tuple[str, str] | None:
    """The (symbol, timeframe) to research; the null and shuffled markets are written as CSV."""
    if market in ("EURUSD", "BTCUSD"):
        return market, "1h"
    if market == "null":
        bars = random_walk_bars(NULL_BARS, SEED)
    else:
        bars = shuffled_bars(DataRepository(home / "data").load("BTCUSD", "1h"), SEED)
    path = home / f"{market}.csv"
    bars.to_csv(path)
    return path.as_posix(), "1h"


def import_market(server: Server, market: str, csv: str) -> str:
    """Upload the generated bars as symbol NULLRW / BTCSHUF; return the symbol."""
    symbol = {"null": "NULLRW", "shuffled": "BTCSHUF"}[market]
    response = server.client.post(
        "/data/import",
        params={"symbol": symbol, "timeframe": "1h", "filename": Path(csv).name},
        content=Path(csv).read_bytes(),
        headers={"Content-Type": "text/csv"},
    )
    if response.status_code >= 300:
        raise RuntimeError(f"import of {market} refused: {response.status_code} {response.text}")
    return symbol


def run_cycle(server: Server, symbol: str) -> Outcome:
    """One cycle on ``symbol`` 1h with the gates open, then its holdout look."""
    response = server.client.post(
        "/agent/trigger", json={"symbol": symbol, "timeframe": "1h", "gates": LENIENT_GATES}
    )
    if response.status_code != 202:
        raise RuntimeError(f"trigger refused: {response.status_code} {response.text}")
    research = server.finished(response.json()["operation_id"])
    summary = research.get("result_summary") or {}
    params = research["metadata"]["parameters"]
    statistics = summary.get("statistics") or params.get("statistics") or {}
    holdout = summary.get("holdout") or _look(server, summary.get("model_path"))
    metrics = (holdout or {}).get("metrics") or {}
    return Outcome(
        status=research["status"],
        verdict=params.get("verdict"),
        reason=research.get("error_message") or params.get("verdict_reason") or "",
        score=((params.get("backtest_result") or {}).get("metrics") or {}).get("sharpe_ratio"),
        dsr=statistics.get("dsr"),
        n_trials=statistics.get("n_trials"),
        holdout_verdict=(holdout or {}).get("verdict"),
        holdout_sharpe=metrics.get("sharpe_ratio"),
    )


def _look(server: Server, model_path: str | None) -> dict[str, Any] | None:
    """The model's holdout result through POST /holdout/evaluate (a counted look)."""
    if not model_path:
        return None
    response = server.client.post("/holdout/evaluate", json={"model": model_path})
    if response.status_code >= 300:
        return None
    operation_id = response.json()["data"]["operation_id"]

    def done() -> dict[str, Any] | None:
        rows = server.get("/holdout/evaluations")["data"]
        row = next((r for r in rows if r["operation_id"] == operation_id), None)
        if row is None or row["status"] in ("running", "pending"):
            return None
        return row["result"] or {"verdict": None}

    return wait_for(done, f"holdout look {operation_id}", HOLDOUT_TIMEOUT)


def measure(market: str, cycles: int) -> list[Outcome]:
    """A fresh server researching ``market``: ``cycles`` cycles and their holdout looks."""
    with tempfile.TemporaryDirectory(prefix=f"ktrdr-validity-{market}-") as tmp:
        home = Path(tmp)
        symbol, _ = market_data(market, home)
        with Server(home, poll_interval=0.2) as server:
            if market in ("null", "shuffled"):
                symbol = import_market(server, market, symbol)
            outcomes = []
            for number in range(cycles):
                started = time.monotonic()
                outcome = run_cycle(server, symbol)
                print(
                    f"{market} cycle {number + 1}/{cycles}: {outcome.status} "
                    f"{outcome.verdict} dsr={outcome.dsr} holdout={outcome.holdout_verdict} "
                    f"({time.monotonic() - started:.1f}s) {outcome.reason}",
                    flush=True,
                )
                outcomes.append(outcome)
    return outcomes


def spearman(outcomes: list[Outcome]) -> tuple[float | None, int]:
    """Rank correlation of research-window Sharpe and holdout Sharpe over the pairs with both."""
    pairs = pd.DataFrame(
        [(o.score, o.holdout_sharpe) for o in outcomes], columns=["research", "holdout"]
    ).dropna()
    if len(pairs) < 3:
        return None, len(pairs)
    ranks = pairs.rank()
    return float(ranks["research"].corr(ranks["holdout"])), len(pairs)


def summary_rows(results: dict[str, list[Outcome]]) -> list[list[Any]]:
    rows = []
    for market, outcomes in results.items():
        judged = [o for o in outcomes if o.verdict is not None]
        promising = [o for o in judged if o.verdict == "promising"]
        confirmed = [o for o in outcomes if o.holdout_verdict == "confirmed"]
        confirmed_promising = [o for o in promising if o.holdout_verdict == "confirmed"]
        rho, pairs = spearman(outcomes)
        rows.append(
            [
                market,
                len(outcomes),
                len(judged),
                f"{len(promising)} ({_share(len(promising), len(judged))})",
                f"{len(confirmed_promising)} of {len(promising)}",
                f"{len(confirmed)} of {len(outcomes)}",
                "—" if rho is None else f"{rho:+.2f} (n={pairs})",
            ]
        )
    return rows


def _share(part: int, whole: int) -> str:
    return f"{100 * part / whole:.0f} %" if whole else "—"


def cycle_rows(results: dict[str, list[Outcome]]) -> list[list[Any]]:
    return [
        [
            market,
            number,
            o.status,
            o.verdict or "—",
            "—" if o.score is None else f"{o.score:.2f}",
            "—" if o.dsr is None else f"{o.dsr:.3f}",
            o.n_trials if o.n_trials is not None else "—",
            o.holdout_verdict or "—",
            "—" if o.holdout_sharpe is None else f"{o.holdout_sharpe:.2f}",
            o.reason,
        ]
        for market, outcomes in results.items()
        for number, o in enumerate(outcomes, 1)
    ]


def report(results: dict[str, list[Outcome]], cycles: int, load: tuple[float, float]) -> str:
    machine = describe_machine(("torch", "optuna"))
    machine["load average (1 min), start -> end"] = f"{load[0]:.2f} -> {load[1]:.2f}"
    return "\n\n".join(
        [
            "# Validity: does the research loop tell skill from luck?",
            f"Command: `{COMMAND} --cycles {cycles} --markets {' '.join(results)}`",
            machine_markdown(machine),
            __doc__.split("\n\n")[1].replace("\n", " "),
            "## Summary",
            markdown_table(
                [
                    "market",
                    "cycles",
                    "with a verdict",
                    "promising",
                    "holdout-confirmed among promising",
                    "holdout-confirmed, all looks",
                    "Spearman(research Sharpe, holdout Sharpe)",
                ],
                summary_rows(results),
            ),
            "## Every cycle",
            markdown_table(
                [
                    "market",
                    "cycle",
                    "status",
                    "verdict",
                    "research Sharpe",
                    "DSR",
                    "trials",
                    "holdout",
                    "holdout Sharpe",
                    "reason",
                ],
                cycle_rows(results),
            ),
        ]
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cycles", type=int, default=12, help="cycles per market (>= 12)")
    parser.add_argument("--markets", nargs="+", choices=MARKETS, default=list(MARKETS))
    arguments = parser.parse_args()
    load_start = os.getloadavg()[0]
    results = {market: measure(market, arguments.cycles) for market in arguments.markets}
    text = report(results, arguments.cycles, (load_start, os.getloadavg()[0]))
    print(text)
    RESULTS_DIR.mkdir(exist_ok=True)
    (RESULTS_DIR / "validity.md").write_text(text + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
