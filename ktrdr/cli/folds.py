"""The walk-forward folds of a training (and of its backtest) as one table."""

from __future__ import annotations

from typing import Any

from rich.table import Table

from ktrdr.cli.follow import format_value
from ktrdr.cli.output import format_day

SPAN_COLUMNS = ("Trained on", "Out-of-sample")


def fold_table(
    training: dict[str, Any] | None, backtest: dict[str, Any] | None = None
) -> Table | None:
    """One row per fold: its spans and test metrics, and its OOS backtest when given; None
    for a training without folds."""
    walk_forward = (training or {}).get("walk_forward")
    if not walk_forward or not walk_forward.get("folds"):
        return None
    seeds = walk_forward.get("seeds") or []
    table = Table(
        title=f"Walk-forward folds ({walk_forward.get('scheme')}; each model an ensemble of "
        f"{len(seeds)} seeds: {', '.join(str(seed) for seed in seeds)})",
        title_justify="left",
    )
    columns = ["Fold", *SPAN_COLUMNS, "Test acc.", "Test loss"]
    if backtest is not None:
        columns += ["Return", "Sharpe", "Trades"]
    for column in columns:
        table.add_column(column, justify="left" if column in SPAN_COLUMNS else "right")
    tested = (
        {fold["fold"]: fold.get("metrics") or {} for fold in backtest.get("folds") or []}
        if backtest
        else {}
    )
    for fold in walk_forward["folds"]:
        metrics = fold.get("test_metrics") or {}
        cells = [
            str(fold["fold"]),
            f"{format_day(fold.get('train_start'))}..{format_day(fold.get('train_end'))}",
            f"{format_day(fold.get('test_start'))}..{format_day(fold.get('test_end'))}",
            format_value(metrics.get("test_accuracy"), "percent"),
            format_value(metrics.get("test_loss")),
        ]
        if backtest is not None:
            oos = tested.get(fold["fold"], {})
            cells += [
                format_value(oos.get("total_return"), "percent"),
                format_value(oos.get("sharpe_ratio"), "ratio"),
                format_value(oos.get("total_trades"), "int"),
            ]
        table.add_row(*cells)
    sharpes = (backtest or {}).get("seed_sharpes")
    if sharpes:
        table.caption = "each seed's stitched Sharpe: " + ", ".join(
            format_value(value, "ratio") for value in sharpes
        )
    return table
