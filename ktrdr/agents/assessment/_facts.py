"""The numbers an assessment reasons about, pulled out of the training and backtest results."""

from __future__ import annotations

import math
import numbers
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from ktrdr.agents.gates import train_loss_decrease

VAL_LOSS_RISE = 0.05  # final val loss 5 % above its best counts as over-fitting


@dataclass(frozen=True)
class Facts:
    """Metrics of one cycle; None where a result or a metric is missing."""

    accuracy: float | None = None
    test_loss: float | None = None
    f1: float | None = None
    loss_decrease: float | None = None
    epochs_run: int | None = None
    best_val_epoch: int | None = None  # 1-based epoch after which the val loss rose
    dominant_label: tuple[str, float] | None = None  # ("hold", 0.72) of the train split
    sharpe: float | None = None
    total_return: float | None = None
    buy_and_hold: float | None = None
    max_drawdown: float | None = None
    win_rate: float | None = None
    trades: int | None = None
    exposure: float | None = None
    profit_factor: float | None = None
    failed_gates: dict[str, str] = field(default_factory=dict)

    def metrics(self) -> dict[str, float | int | None]:
        """The assessment's ``metrics`` block, named like the result summaries."""
        return {
            "test_accuracy": self.accuracy,
            "test_loss": self.test_loss,
            "f1": self.f1,
            "train_loss_decrease": self.loss_decrease,
            "epochs_run": self.epochs_run,
            "sharpe_ratio": self.sharpe,
            "total_return": self.total_return,
            "buy_and_hold_return": self.buy_and_hold,
            "max_drawdown": self.max_drawdown,
            "win_rate": self.win_rate,
            "total_trades": self.trades,
            "exposure": self.exposure,
            "profit_factor": self.profit_factor,
        }


def collect_facts(
    training_result: Mapping[str, Any] | None,
    backtest_result: Mapping[str, Any] | None,
    gates: Mapping[str, Any],
) -> Facts:
    """Read the numbers once, so the rules never touch raw result dicts."""
    training = training_result or {}
    test = _mapping(training.get("test_metrics"))
    history = _mapping(_mapping(training.get("training_metrics")).get("history"))
    backtest = _mapping(_mapping(backtest_result).get("metrics"))
    trades = number(backtest.get("total_trades"))
    epochs = number(_mapping(training.get("training_metrics")).get("epochs_run"))
    return Facts(
        accuracy=number(test.get("test_accuracy")),
        test_loss=number(test.get("test_loss")),
        f1=number(test.get("f1")),
        loss_decrease=train_loss_decrease(training),
        epochs_run=None if epochs is None else int(epochs),
        best_val_epoch=_val_loss_turn(history.get("val_loss")),
        dominant_label=_dominant_label(_mapping(training.get("label_distribution")).get("train")),
        sharpe=number(backtest.get("sharpe_ratio")),
        total_return=number(backtest.get("total_return")),
        buy_and_hold=number(backtest.get("buy_and_hold_return")),
        max_drawdown=number(backtest.get("max_drawdown")),
        win_rate=number(backtest.get("win_rate")),
        trades=None if trades is None else int(trades),
        exposure=number(backtest.get("exposure")),
        profit_factor=number(backtest.get("profit_factor")),
        failed_gates={
            name: str(outcome.get("reason"))
            for name, outcome in gates.items()
            if isinstance(outcome, Mapping) and outcome.get("passed") is False
        },
    )


def number(value: Any) -> float | None:
    """A finite real as float, else None (bools and strings are not metrics)."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        return None
    return float(value) if math.isfinite(value) else None


def _mapping(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def _val_loss_turn(values: Any) -> int | None:
    if not isinstance(values, Sequence) or isinstance(values, str) or len(values) < 2:
        return None
    losses = [number(value) for value in values]
    if any(loss is None for loss in losses):
        return None
    best = min(range(len(losses)), key=losses.__getitem__)
    rose = losses[-1] > losses[best] * (1 + VAL_LOSS_RISE)
    return best + 1 if rose else None


def _dominant_label(counts: Any) -> tuple[str, float] | None:
    if not isinstance(counts, Mapping):
        return None
    values = {str(name): number(count) or 0.0 for name, count in counts.items()}
    total = sum(values.values())
    if total <= 0:
        return None
    name = max(values, key=values.__getitem__)
    return name, values[name] / total
