"""Gates of the research cycle: every check, exact reasons, order, boundaries, thresholds."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pytest

from ktrdr.agents.gates import (
    GateThresholds,
    check_backtest_gate,
    check_training_gate,
    gate_thresholds_dict,
    train_loss_decrease,
)
from ktrdr.errors import ValidationError
from ktrdr.settings import Settings

DEFAULTS = GateThresholds()


def training_result(
    accuracy: Any = 0.55,
    loss: Any = 0.9,
    train_loss: Any = (1.10, 0.95, 0.90),
    *,
    balanced: Any = 0.45,
    prior: Any = 1.0,
    supports: tuple[Any, ...] = (30, 40, 30),
) -> dict[str, Any]:
    """A training result_summary shaped like the training job's."""
    per_class = {
        name: {"precision": 0.5, "recall": 0.5, "f1": 0.5, "support": support}
        for name, support in zip(("sell", "hold", "buy"), supports, strict=True)
    }
    return {
        "model_path": "models/x/v1",
        "training_metrics": {
            "epochs_run": 3,
            "history": {"train_loss": train_loss, "val_loss": [1.0, 0.99, 0.98]},
            "final_train_loss": 0.90,
            "best_epoch": 3,
        },
        "test_metrics": {
            "test_accuracy": accuracy,
            "test_loss": loss,
            "balanced_accuracy": balanced,
            "prior_log_loss": prior,
            "f1": 0.5,
            "per_class": per_class,
        },
    }


def backtest_result(
    trades: Any = 23, win_rate: Any = 0.58, drawdown: Any = 0.12, sharpe: Any = 1.1
) -> dict[str, Any]:
    """A backtest result_summary shaped like the backtest job's."""
    return {
        "metrics": {
            "total_trades": trades,
            "win_rate": win_rate,
            "max_drawdown": drawdown,
            "sharpe_ratio": sharpe,
            "total_return": 0.08,
        },
        "bars": 1000,
    }


@pytest.mark.parametrize(
    ("result", "reason"),
    [
        (training_result(), "passed"),
        (training_result(accuracy=0.383), "accuracy_below_threshold (38.3% < 40.0%)"),
        (training_result(loss=1.062), "loss_too_high (1.062 > 1.000)"),
        (
            training_result(train_loss=[1.0, 0.99, 0.97]),
            "insufficient_loss_decrease (3.0% < 5.0%)",
        ),
        (training_result(train_loss=[1.0, 1.2]), "insufficient_loss_decrease (-20.0% < 5.0%)"),
        (training_result(train_loss=[1.0]), "insufficient_loss_decrease (0.0% < 5.0%)"),
        (
            training_result(balanced=0.341),
            "no_skill_over_chance (balanced accuracy 34.1% - chance 33.3% = 0.8% < 2.0%)",
        ),
        (
            # Only two classes in the test labels: chance is 1/2.
            training_result(balanced=0.51, supports=(50, 0, 50.5)),
            "no_skill_over_chance (balanced accuracy 51.0% - chance 50.0% = 1.0% < 2.0%)",
        ),
        (
            training_result(loss=0.968, prior=0.952),
            "worse_than_prior (1 - test loss 0.968 / prior log-loss 0.952 = -1.7% < 0.0%)",
        ),
    ],
)
def test_training_gate_checks_and_reasons(result: dict, reason: str) -> None:
    assert check_training_gate(result, DEFAULTS) == (reason == "passed", reason)


@pytest.mark.parametrize(
    ("result", "reason"),
    [
        (backtest_result(), "passed"),
        (backtest_result(trades=3), "too_few_trades (3 < 5)"),
        (backtest_result(trades=0, win_rate=None), "too_few_trades (0 < 5)"),
        (backtest_result(win_rate=0.31), "win_rate_too_low (31.0% < 35.0%)"),
        (backtest_result(drawdown=0.52), "drawdown_too_high (52.0% > 40.0%)"),
        (backtest_result(sharpe=-0.81), "sharpe_too_low (-0.81 < -0.50)"),
    ],
)
def test_backtest_gate_checks_and_reasons(result: dict, reason: str) -> None:
    assert check_backtest_gate(result, DEFAULTS) == (reason == "passed", reason)


@pytest.mark.parametrize(
    ("result", "reason"),
    [
        (
            training_result(accuracy=0.2, loss=2.0, train_loss=[1.0, 1.0]),
            "accuracy_below_threshold (20.0% < 40.0%)",
        ),
        (training_result(loss=2.0, train_loss=[1.0, 1.0]), "loss_too_high (2.000 > 1.000)"),
        (training_result(accuracy=None, loss=None), "missing_metric (test_accuracy)"),
        (
            # The seed's three checks come first, whatever the baselines say.
            training_result(train_loss=[1.0, 1.0], balanced=0.2, loss=0.99, prior=0.5),
            "insufficient_loss_decrease (0.0% < 5.0%)",
        ),
        (
            training_result(accuracy=0.3, balanced=None, prior=None),
            "accuracy_below_threshold (30.0% < 40.0%)",
        ),
        (
            training_result(balanced=0.3, loss=0.99, prior=0.5),
            "no_skill_over_chance (balanced accuracy 30.0% - chance 33.3% = -3.3% < 2.0%)",
        ),
        (training_result(balanced=None, prior=None), "missing_metric (balanced_accuracy)"),
    ],
)
def test_training_gate_first_failure_wins(result: dict, reason: str) -> None:
    assert check_training_gate(result, DEFAULTS) == (False, reason)


@pytest.mark.parametrize(
    ("result", "reason"),
    [
        (
            backtest_result(trades=1, win_rate=0.0, drawdown=0.9, sharpe=-3.0),
            "too_few_trades (1 < 5)",
        ),
        (
            backtest_result(win_rate=0.1, drawdown=0.9, sharpe=-3.0),
            "win_rate_too_low (10.0% < 35.0%)",
        ),
        (backtest_result(drawdown=0.9, sharpe=-3.0), "drawdown_too_high (90.0% > 40.0%)"),
    ],
)
def test_backtest_gate_first_failure_wins(result: dict, reason: str) -> None:
    assert check_backtest_gate(result, DEFAULTS) == (False, reason)


def test_values_equal_to_the_thresholds_pass() -> None:
    training = training_result(
        accuracy=0.40,
        loss=1.0,
        train_loss=[1.0, 0.95],
        balanced=0.53,
        supports=(10, 0, 10),
        prior=1.0,
    )
    backtest = backtest_result(trades=5, win_rate=0.35, drawdown=0.40, sharpe=-0.5)

    assert check_training_gate(training, DEFAULTS) == (True, "passed")
    assert check_backtest_gate(backtest, DEFAULTS) == (True, "passed")


@pytest.mark.parametrize("bad", [None, math.nan, math.inf, "0.5", True])
@pytest.mark.parametrize(
    ("make", "name"),
    [
        (lambda v: training_result(accuracy=v), "test_accuracy"),
        (lambda v: training_result(loss=v), "test_loss"),
        (lambda v: training_result(train_loss=[1.0, v]), "train_loss"),
        (lambda v: training_result(train_loss=[v, 0.5]), "train_loss"),
        (lambda v: training_result(balanced=v), "balanced_accuracy"),
        (lambda v: training_result(supports=(v, v, v)), "per_class"),
        (lambda v: training_result(prior=v), "prior_log_loss"),
    ],
)
def test_training_gate_missing_metric(bad: Any, make: Any, name: str) -> None:
    assert check_training_gate(make(bad), DEFAULTS) == (False, f"missing_metric ({name})")


@pytest.mark.parametrize("bad", [None, math.nan, -math.inf, "7", False])
@pytest.mark.parametrize(
    ("make", "name"),
    [
        (lambda v: backtest_result(trades=v), "total_trades"),
        (lambda v: backtest_result(win_rate=v), "win_rate"),
        (lambda v: backtest_result(drawdown=v), "max_drawdown"),
        (lambda v: backtest_result(sharpe=v), "sharpe_ratio"),
    ],
)
def test_backtest_gate_missing_metric(bad: Any, make: Any, name: str) -> None:
    assert check_backtest_gate(make(bad), DEFAULTS) == (False, f"missing_metric ({name})")


@pytest.mark.parametrize(
    ("result", "name"),
    [
        ({}, "test_accuracy"),
        ({"test_metrics": {"test_accuracy": 0.5, "test_loss": 0.9}}, "train_loss"),
        (training_result(train_loss=[]), "train_loss"),
        (training_result(train_loss=None), "train_loss"),
        (training_result(train_loss=[0.0, 0.0]), "train_loss"),
        (training_result(supports=(0, 0, 0)), "per_class"),
        (training_result(prior=0.0), "prior_log_loss"),
    ],
)
def test_training_gate_missing_sections(result: dict, name: str) -> None:
    assert check_training_gate(result, DEFAULTS) == (False, f"missing_metric ({name})")


def test_backtest_gate_without_metrics_section() -> None:
    assert check_backtest_gate({"bars": 10}, DEFAULTS) == (False, "missing_metric (total_trades)")


def test_numpy_scalars_are_metrics() -> None:
    result = backtest_result(trades=np.int64(3), win_rate=np.float64(0.5))

    assert check_backtest_gate(result, DEFAULTS) == (False, "too_few_trades (3 < 5)")


def test_loss_decrease_is_first_versus_final_epoch() -> None:
    # The middle epoch dips lower, but only the first and final ones count.
    result = training_result(train_loss=[1.10, 0.50, 0.99])

    assert train_loss_decrease(result) == pytest.approx(0.1)


def test_thresholds_default_to_the_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TRAINING_GATE_MIN_ACCURACY", "0.6")
    monkeypatch.setenv("KTRDR_BACKTEST_GATE_MIN_TRADES", "12")

    thresholds = GateThresholds.from_settings(Settings())

    assert thresholds.training_min_accuracy == 0.6
    assert thresholds.backtest_min_trades == 12
    assert thresholds.backtest_max_drawdown == DEFAULTS.backtest_max_drawdown
    assert check_training_gate(training_result(accuracy=0.55), thresholds) == (
        False,
        "accuracy_below_threshold (55.0% < 60.0%)",
    )


def test_baseline_thresholds_come_from_either_env_name(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TRAINING_GATE_MIN_SKILL", "0.15")
    monkeypatch.setenv("KTRDR_TRAINING_GATE_MIN_LOG_LOSS_SKILL", "0.05")

    thresholds = GateThresholds.from_settings(Settings())

    assert (thresholds.training_min_skill, thresholds.training_min_log_loss_skill) == (0.15, 0.05)
    assert check_training_gate(training_result(balanced=0.45), thresholds) == (
        False,
        "no_skill_over_chance (balanced accuracy 45.0% - chance 33.3% = 11.7% < 15.0%)",
    )
    assert check_training_gate(training_result(balanced=0.5, loss=0.96), thresholds) == (
        False,
        "worse_than_prior (1 - test loss 0.960 / prior log-loss 1.000 = 4.0% < 5.0%)",
    )


def test_baseline_overrides_open_and_tighten_the_checks() -> None:
    weak = training_result(balanced=0.30, loss=0.99, prior=0.95)
    opened = GateThresholds.from_settings(
        Settings(), {"training_min_skill": -1, "training_min_log_loss_skill": -100}
    )
    tightened = GateThresholds.from_settings(Settings(), {"training_min_log_loss_skill": 0.2})

    assert check_training_gate(weak, DEFAULTS)[1].startswith("no_skill_over_chance")
    assert check_training_gate(weak, opened) == (True, "passed")
    assert check_training_gate(training_result(), tightened) == (
        False,
        "worse_than_prior (1 - test loss 0.900 / prior log-loss 1.000 = 10.0% < 20.0%)",
    )


def test_gates_without_thresholds_read_get_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BACKTEST_GATE_MIN_SHARPE", "0.5")

    assert check_backtest_gate(backtest_result(sharpe=0.4)) == (
        False,
        "sharpe_too_low (0.40 < 0.50)",
    )


def test_overrides_apply_on_top_of_the_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TRAINING_GATE_MAX_LOSS", "0.8")

    thresholds = GateThresholds.from_settings(
        Settings(), {"backtest_min_trades": 10, "backtest_min_sharpe": 0}
    )

    assert thresholds.training_max_loss == 0.8
    assert thresholds.backtest_min_trades == 10
    assert isinstance(thresholds.backtest_min_trades, int)
    assert check_backtest_gate(backtest_result(trades=9), thresholds) == (
        False,
        "too_few_trades (9 < 10)",
    )


@pytest.mark.parametrize(
    ("overrides", "fragment"),
    [
        ({"min_accuracy": 0.5}, "unknown gate threshold 'min_accuracy'"),
        ({"training_min_accuracy": "high"}, "must be a finite number"),
        ({"backtest_max_drawdown": math.nan}, "must be a finite number"),
        ({"backtest_min_trades": 2.5}, "must be a whole number"),
        ({"training_min_skill": "none"}, "must be a finite number"),
        ({"training_min_log_loss_skill": -math.inf}, "must be a finite number"),
    ],
)
def test_bad_overrides_are_refused(overrides: dict, fragment: str) -> None:
    with pytest.raises(ValidationError, match=fragment):
        GateThresholds.from_settings(Settings(), overrides)


def test_unknown_override_lists_the_allowed_keys() -> None:
    with pytest.raises(ValidationError) as caught:
        GateThresholds.from_settings(Settings(), {"nope": 1})

    assert "training_min_accuracy" in caught.value.message


def test_thresholds_dict_round_trips_through_overrides() -> None:
    custom = GateThresholds(training_min_accuracy=0.45, backtest_min_trades=8)

    stored = gate_thresholds_dict(custom)

    assert stored["training_min_accuracy"] == 0.45
    assert set(stored) == {
        "training_min_accuracy",
        "training_max_loss",
        "training_min_loss_decrease",
        "training_min_skill",
        "training_min_log_loss_skill",
        "backtest_min_trades",
        "backtest_min_win_rate",
        "backtest_max_drawdown",
        "backtest_min_sharpe",
    }
    assert GateThresholds.from_settings(Settings(), stored) == custom
