"""The training and backtest gates of the research cycle (DESIGN §4): pure ``(passed, reason)``.

Each gate runs its checks in order and the first failure wins; a value equal to its threshold
passes. A passing gate returns ``(True, "passed")``. A missing, None, NaN or infinite metric fails
its check with ``missing_metric (<name>)`` — it is never replaced by a default.

The defaults reject broken models and broken backtests, not merely unprofitable ones; judging
quality is the assessment's job.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, fields, replace
from typing import Any

from ktrdr.errors import ValidationError
from ktrdr.settings import Settings, get_settings

PASSED = "passed"
GateOutcome = tuple[bool, str]


@dataclass(frozen=True, kw_only=True)
class GateThresholds:
    """The thresholds of both gates; fractions are 0-1 (``backtest_max_drawdown`` 0.40 = 40 %)."""

    training_min_accuracy: float = 0.40
    training_max_loss: float = 1.00
    training_min_loss_decrease: float = 0.05
    training_min_skill: float = 0.02
    training_min_log_loss_skill: float = 0.0
    backtest_min_trades: int = 5
    backtest_min_win_rate: float = 0.35
    backtest_max_drawdown: float = 0.40
    backtest_min_sharpe: float = -0.5

    @classmethod
    def from_settings(
        cls, settings: Settings | None = None, overrides: Mapping[str, Any] | None = None
    ) -> GateThresholds:
        """Thresholds from settings (env ``TRAINING_GATE_MIN_ACCURACY`` ...), then ``overrides``.

        Override keys are the field names, e.g. ``{"backtest_min_trades": 10}``; an unknown key
        or a non-numeric value raises ``ValidationError``.
        """
        settings = settings or get_settings()
        thresholds = cls(
            training_min_accuracy=settings.training_gate_min_accuracy,
            training_max_loss=settings.training_gate_max_loss,
            training_min_loss_decrease=settings.training_gate_min_loss_decrease,
            training_min_skill=settings.training_gate_min_skill,
            training_min_log_loss_skill=settings.training_gate_min_log_loss_skill,
            backtest_min_trades=settings.backtest_gate_min_trades,
            backtest_min_win_rate=settings.backtest_gate_min_win_rate,
            backtest_max_drawdown=settings.backtest_gate_max_drawdown,
            backtest_min_sharpe=settings.backtest_gate_min_sharpe,
        )
        return replace(thresholds, **_checked_overrides(overrides or {}))


def gate_thresholds_dict(thresholds: GateThresholds) -> dict[str, float | int]:
    """The thresholds as a plain dict keyed by field name (round-trips through ``overrides``)."""
    return asdict(thresholds)


def check_training_gate(
    result: Mapping[str, Any], thresholds: GateThresholds | None = None
) -> GateOutcome:
    """Judge a training ``result_summary``: the seed's three checks, then the two baselines.

    In order: test accuracy, test loss, train-loss decrease, skill over chance, skill over the
    prior. The decrease compares the first and final epochs of
    ``training_metrics.history.train_loss``: ``[1.10, 0.98, 0.99]`` decreased by
    (1.10 - 0.99) / 1.10 = 10.0 %. Skill over chance is ``balanced_accuracy`` - 1/K with K the
    classes present in the test labels (``per_class`` support > 0; for a fold mean, in any fold):
    always predicting one class scores exactly 1/K. Skill over the prior is 1 - ``test_loss`` /
    ``prior_log_loss`` (the loss of always predicting the training class frequencies): 0.968
    against a prior of 0.952 is -1.7 %.
    """
    limits = thresholds or GateThresholds.from_settings()
    test_metrics = _mapping(result.get("test_metrics"))
    accuracy = _number(test_metrics.get("test_accuracy"))
    if accuracy is None:
        return False, _missing("test_accuracy")
    if accuracy < limits.training_min_accuracy:
        return False, (
            f"accuracy_below_threshold ({accuracy:.1%} < {limits.training_min_accuracy:.1%})"
        )
    loss = _number(test_metrics.get("test_loss"))
    if loss is None:
        return False, _missing("test_loss")
    if loss > limits.training_max_loss:
        return False, f"loss_too_high ({loss:.3f} > {limits.training_max_loss:.3f})"
    decrease = train_loss_decrease(result)
    if decrease is None:
        return False, _missing("train_loss")
    if decrease < limits.training_min_loss_decrease:
        return False, (
            f"insufficient_loss_decrease ({decrease:.1%} < {limits.training_min_loss_decrease:.1%})"
        )
    return _check_baselines(test_metrics, loss, limits)


def _check_baselines(
    test_metrics: Mapping[str, Any], loss: float, limits: GateThresholds
) -> GateOutcome:
    balanced = _number(test_metrics.get("balanced_accuracy"))
    if balanced is None:
        return False, _missing("balanced_accuracy")
    classes = _classes_present(test_metrics)
    if classes is None:
        return False, _missing("per_class")
    chance = 1.0 / classes
    if balanced - chance < limits.training_min_skill:
        return False, (
            f"no_skill_over_chance (balanced accuracy {balanced:.1%} - chance {chance:.1%} = "
            f"{balanced - chance:.1%} < {limits.training_min_skill:.1%})"
        )
    prior = _number(test_metrics.get("prior_log_loss"))
    if prior is None or prior <= 0:
        return False, _missing("prior_log_loss")
    skill = 1.0 - loss / prior
    if skill < limits.training_min_log_loss_skill:
        return False, (
            f"worse_than_prior (1 - test loss {loss:.3f} / prior log-loss {prior:.3f} = "
            f"{skill:.1%} < {limits.training_min_log_loss_skill:.1%})"
        )
    return True, PASSED


def _classes_present(test_metrics: Mapping[str, Any]) -> int | None:
    per_class = _mapping(test_metrics.get("per_class"))
    supports = [_number(_mapping(scores).get("support")) for scores in per_class.values()]
    present = sum(1 for support in supports if support is not None and support > 0)
    return present or None


def check_backtest_gate(
    result: Mapping[str, Any], thresholds: GateThresholds | None = None
) -> GateOutcome:
    """Judge a backtest ``result_summary`` by ``metrics``: trades, win rate, drawdown, Sharpe."""
    limits = thresholds or GateThresholds.from_settings()
    metrics = _mapping(result.get("metrics"))
    trades = _number(metrics.get("total_trades"))
    if trades is None:
        return False, _missing("total_trades")
    if trades < limits.backtest_min_trades:
        return False, f"too_few_trades ({trades:g} < {limits.backtest_min_trades:g})"
    win_rate = _number(metrics.get("win_rate"))
    if win_rate is None:
        return False, _missing("win_rate")
    if win_rate < limits.backtest_min_win_rate:
        return False, f"win_rate_too_low ({win_rate:.1%} < {limits.backtest_min_win_rate:.1%})"
    drawdown = _number(metrics.get("max_drawdown"))
    if drawdown is None:
        return False, _missing("max_drawdown")
    if drawdown > limits.backtest_max_drawdown:
        return False, f"drawdown_too_high ({drawdown:.1%} > {limits.backtest_max_drawdown:.1%})"
    sharpe = _number(metrics.get("sharpe_ratio"))
    if sharpe is None:
        return False, _missing("sharpe_ratio")
    if sharpe < limits.backtest_min_sharpe:
        return False, f"sharpe_too_low ({sharpe:.2f} < {limits.backtest_min_sharpe:.2f})"
    return True, PASSED


def train_loss_decrease(result: Mapping[str, Any]) -> float | None:
    """(first - final) / first of the training history's ``train_loss``; None when unusable."""
    history = _mapping(_mapping(result.get("training_metrics")).get("history"))
    losses = history.get("train_loss")
    if not isinstance(losses, Sequence) or isinstance(losses, str) or not losses:
        return None
    first, final = _number(losses[0]), _number(losses[-1])
    if first is None or final is None or first <= 0:
        return None
    return (first - final) / first


def _checked_overrides(overrides: Mapping[str, Any]) -> dict[str, float | int]:
    known = {field.name: field.type for field in fields(GateThresholds)}
    checked: dict[str, float | int] = {}
    for key, value in overrides.items():
        if key not in known:
            raise ValidationError(
                f"unknown gate threshold {key!r}; allowed: {', '.join(sorted(known))}",
                details={"key": key},
            )
        number = _number(value)
        if number is None:
            raise ValidationError(f"gate threshold {key!r} must be a finite number, got {value!r}")
        if known[key] == "int":
            if number != int(number):
                raise ValidationError(
                    f"gate threshold {key!r} must be a whole number, got {value!r}"
                )
            number = int(number)
        checked[key] = number
    return checked


def _mapping(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def _number(value: Any) -> float | None:
    # bool is an int subclass, but True is not a metric value.
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        return None
    number = float(value) if not isinstance(value, numbers.Integral) else int(value)
    return number if math.isfinite(number) else None


def _missing(name: str) -> str:
    return f"missing_metric ({name})"
