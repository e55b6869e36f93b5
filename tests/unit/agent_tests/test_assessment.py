"""Offline assessor: verdicts, cited numbers, concrete suggestions, the file, and the job."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

import ktrdr.agents
import ktrdr.agents.assessment
from ktrdr.agents.assessment import assess, write_assessment
from ktrdr.agents.assessment.job import run_assessment_job
from ktrdr.agents.memory import ExperimentMemory, ExperimentRecord
from ktrdr.errors import ValidationError
from ktrdr.execution import reporter as reporter_module
from ktrdr.execution import worker_operations
from ktrdr.operations import OperationsService
from ktrdr.strategy import load_strategy, save_strategy, strategy_to_dict

EXAMPLES = Path(__file__).resolve().parents[3] / "examples" / "strategies"
PASSED = {"passed": True, "reason": "passed"}
BOTH_PASSED = {"training": PASSED, "backtest": PASSED}
ASSESSMENT_KEYS = {
    "strategy_name",
    "verdict",
    "strengths",
    "weaknesses",
    "suggestions",
    "metrics",
    "gates",
    "trials_so_far",
    "created_at",
    "assessor",
    "statistics",
    "deterministic_verdict",
    "verdict_reason",
}
STATISTICS = {
    "n_trials": 37,
    "sharpe": 0.05,
    "sharpe_annualized": 4.27,
    "psr": 0.91,
    "dsr": 0.43,
    "bootstrap_ci": [-1.9, 10.4],
    "min_track_record_bars": 1400,
    "bars": 900,
    "pbo": 0.62,
    "trades": 23,
}


def training(
    accuracy: float = 0.55,
    train_loss: list[float] | None = None,
    val_loss: list[float] | None = None,
    labels: dict[str, int] | None = None,
) -> dict[str, Any]:
    """A training result_summary."""
    train_loss = train_loss or [1.10, 0.90, 0.80, 0.78]
    return {
        "training_metrics": {
            "epochs_run": len(train_loss),
            "history": {
                "train_loss": train_loss,
                "val_loss": val_loss or [1.0, 0.95, 0.93, 0.92],
            },
            "best_epoch": 4,
        },
        "test_metrics": {"test_accuracy": accuracy, "test_loss": 0.9, "f1": 0.52},
        "label_distribution": {"train": labels or {"sell": 300, "hold": 400, "buy": 300}},
    }


def backtest(**metrics: float | None) -> dict[str, Any]:
    """A backtest result_summary; a healthy one unless metrics say otherwise."""
    values = {
        "total_return": 0.08,
        "buy_and_hold_return": 0.03,
        "sharpe_ratio": 1.1,
        "max_drawdown": 0.12,
        "win_rate": 0.58,
        "total_trades": 23,
        "exposure": 0.45,
        "profit_factor": 1.6,
    }
    return {"metrics": {**values, **metrics}, "bars": 900}


@pytest.fixture
def mlp_strategy() -> dict[str, Any]:
    """The eurusd_rsi_macd_mlp example as a dict (hidden_layers, zigzag labels), threshold 0.55."""
    return _with_threshold(strategy_to_dict(load_strategy(EXAMPLES / "eurusd_rsi_macd_mlp.yaml")))


def _with_threshold(strategy: dict[str, Any], threshold: float = 0.55) -> dict[str, Any]:
    strategy["decisions"]["confidence_threshold"] = threshold
    return strategy


def test_healthy_cycle_is_promising_and_cites_numbers() -> None:
    result = assess("alpha", training(), backtest(), BOTH_PASSED, 7)

    assert set(result) == ASSESSMENT_KEYS
    assert result["verdict"] == "promising"
    assert result["assessor"] == "offline"
    assert result["trials_so_far"] == 7
    assert "win rate 58.0% over 23 trades" in result["strengths"]
    assert "walk-forward out-of-sample Sharpe 1.10" in result["strengths"]
    assert "return 8.0% beat buy-and-hold 3.0%" in result["strengths"]
    assert result["weaknesses"] == []
    assert result["suggestions"]
    assert result["metrics"]["sharpe_ratio"] == 1.1
    assert result["metrics"]["test_accuracy"] == 0.55
    assert result["gates"] == BOTH_PASSED
    assert datetime.fromisoformat(result["created_at"]).tzinfo is not None


@pytest.mark.parametrize(
    ("backtest_metrics", "verdict"),
    [
        ({"sharpe_ratio": 0.8, "total_return": 0.01, "max_drawdown": 0.10}, "promising"),
        ({"sharpe_ratio": 0.8, "total_return": 0.01, "max_drawdown": 0.30}, "neutral"),
        ({"sharpe_ratio": 0.3}, "neutral"),
        ({"sharpe_ratio": 0.5}, "neutral"),
        ({"sharpe_ratio": -0.1}, "poor"),
        ({"sharpe_ratio": None}, "poor"),
    ],
)
def test_verdict_rules(backtest_metrics: dict, verdict: str) -> None:
    result = assess("alpha", training(), backtest(**backtest_metrics), BOTH_PASSED, 1)

    assert result["verdict"] == verdict


def test_a_failed_gate_is_poor_and_named_in_the_weaknesses() -> None:
    gates = {"training": PASSED, "backtest": {"passed": False, "reason": "too_few_trades (3 < 5)"}}

    result = assess("alpha", training(), backtest(total_trades=3), gates, 1)

    assert result["verdict"] == "poor"
    assert "backtest gate failed: too_few_trades (3 < 5)" in result["weaknesses"]
    assert "only 3 trades: too few to judge" in result["weaknesses"]


def test_training_gate_failure_without_backtest(mlp_strategy: dict) -> None:
    reason = "accuracy_below_threshold (38.3% < 40.0%)"
    gates = {"training": {"passed": False, "reason": reason}}

    result = assess("alpha", training(accuracy=0.383), None, gates, 3, strategy=mlp_strategy)

    assert result["verdict"] == "poor"
    assert f"training gate failed: {reason}" in result["weaknesses"]
    assert result["metrics"]["sharpe_ratio"] is None
    assert result["metrics"]["total_trades"] is None
    assert result["gates"] == gates
    assert any(s.startswith("accuracy 0.38 barely above chance") for s in result["suggestions"])
    assert json.loads(json.dumps(result, allow_nan=False)) == result


def test_weak_accuracy_suggests_a_trend_input_and_longer_lookback(mlp_strategy: dict) -> None:
    result = assess(
        "alpha", training(accuracy=0.41), backtest(), BOTH_PASSED, 1, strategy=mlp_strategy
    )

    assert (
        "accuracy 0.41 barely above chance: add a trend input such as adx "
        "or lengthen model.lookback from 1 to 3"
    ) in result["suggestions"]


def test_trend_suggestion_skips_inputs_the_strategy_has(mlp_strategy: dict) -> None:
    mlp_strategy["indicators"]["adx_14"] = {"type": "adx", "period": 14}

    result = assess(
        "alpha", training(accuracy=0.41), backtest(), BOTH_PASSED, 1, strategy=mlp_strategy
    )

    assert any("such as aroon" in item for item in result["suggestions"])


def test_high_exposure_suggests_a_higher_confidence_threshold(mlp_strategy: dict) -> None:
    result = assess(
        "alpha", training(), backtest(exposure=0.92), BOTH_PASSED, 1, strategy=mlp_strategy
    )

    assert "in the market 92% of bars" in result["weaknesses"]
    assert (
        "exposure 92%: raise decisions.confidence_threshold from 0.55 to 0.65"
        in result["suggestions"]
    )


def test_too_few_trades_suggests_looser_filters(mlp_strategy: dict) -> None:
    result = assess(
        "alpha", training(), backtest(total_trades=3), BOTH_PASSED, 1, strategy=mlp_strategy
    )

    assert (
        "too few trades (3): lower decisions.filters.min_signal_separation from 4 to 2 "
        "or decisions.confidence_threshold from 0.55 to 0.45"
    ) in result["suggestions"]


def test_rising_val_loss_suggests_regularisation(mlp_strategy: dict) -> None:
    rising = training(
        train_loss=[1.1, 1.0, 0.9, 0.8, 0.7, 0.6], val_loss=[1.0, 0.95, 0.9, 0.93, 1.0, 1.05]
    )

    result = assess("alpha", rising, backtest(), BOTH_PASSED, 1, strategy=mlp_strategy)

    assert "val loss rose after epoch 3 of 6: the model over-fits" in result["weaknesses"]
    assert (
        "val loss rose after epoch 3 of 6: increase model.architecture.dropout from 0.20 to 0.30 "
        "or reduce model.architecture.hidden_layers from [32, 16] to [32]"
    ) in result["suggestions"]


def test_rising_val_loss_on_a_recurrent_model_halves_hidden_size() -> None:
    gru = strategy_to_dict(load_strategy(EXAMPLES / "goog_momentum_gru.yaml"))
    rising = training(train_loss=[1.1, 0.9, 0.8], val_loss=[1.0, 0.9, 1.0])

    result = assess("alpha", rising, backtest(), BOTH_PASSED, 1, strategy=gru)

    assert any(
        "reduce model.architecture.hidden_size from 24 to 12" in item
        for item in result["suggestions"]
    )


def test_unbalanced_labels_suggest_a_label_threshold(mlp_strategy: dict) -> None:
    skewed = training(labels={"sell": 100, "hold": 800, "buy": 100})

    result = assess("alpha", skewed, backtest(), BOTH_PASSED, 1, strategy=mlp_strategy)

    assert "labels are 80% hold in the train split" in result["weaknesses"]
    assert (
        "labels are 80% hold: change training.labels.zigzag_threshold from 0.004 to 0.0028 "
        "for more balanced classes"
    ) in result["suggestions"]


@pytest.mark.parametrize(
    ("metrics", "start"),
    [
        ({"win_rate": 0.31}, "win rate 31.0%: trade only stronger signals"),
        ({"sharpe_ratio": -0.4, "total_return": -0.02}, "Sharpe -0.40: trade only stronger"),
        ({"max_drawdown": 0.32}, "drawdown 32%: add a volatility input such as atr"),
    ],
)
def test_trading_weaknesses_get_concrete_suggestions(
    mlp_strategy: dict, metrics: dict, start: str
) -> None:
    result = assess("alpha", training(), backtest(**metrics), BOTH_PASSED, 1, strategy=mlp_strategy)

    assert any(item.startswith(start) for item in result["suggestions"]), result["suggestions"]
    assert any("decisions.confidence_threshold from 0.55" in s for s in result["suggestions"])


def test_slow_learning_suggests_a_learning_rate(mlp_strategy: dict) -> None:
    slow = training(train_loss=[1.0, 0.99, 0.98])

    result = assess("alpha", slow, backtest(), BOTH_PASSED, 1, strategy=mlp_strategy)

    assert any(
        item.startswith("train loss fell only 2.0%: raise training.learning_rate from 0.001 to")
        for item in result["suggestions"]
    )


def test_suggestions_without_a_strategy_use_schema_defaults() -> None:
    result = assess("alpha", training(), backtest(exposure=0.9), BOTH_PASSED, 1)

    assert (
        "exposure 90%: raise decisions.confidence_threshold from 0.50 to 0.60"
        in result["suggestions"]
    )


def test_write_assessment_writes_json_atomically(tmp_path: Path) -> None:
    result = assess("alpha", training(), backtest(), BOTH_PASSED, 2)

    path = write_assessment(tmp_path / "strategies", result, "op_agent_assessment_1")

    assert path == tmp_path / "strategies" / "alpha" / "assessment.json"
    assert json.loads(path.read_text()) == {**result, "operation_id": "op_agent_assessment_1"}
    assert [p.name for p in path.parent.iterdir()] == ["assessment.json"]


def test_write_assessment_replaces_the_previous_one(tmp_path: Path) -> None:
    write_assessment(tmp_path, assess("alpha", training(), backtest(), BOTH_PASSED, 1), "op_1")

    path = write_assessment(
        tmp_path, assess("alpha", training(), backtest(), BOTH_PASSED, 2), "op_2"
    )

    assert json.loads(path.read_text())["trials_so_far"] == 2


def test_write_assessment_refuses_a_path_as_name(tmp_path: Path) -> None:
    result = assess("../escape", training(), backtest(), BOTH_PASSED, 1)

    with pytest.raises(ValidationError, match="not allowed"):
        write_assessment(tmp_path, result, "op_1")


@pytest.fixture
def job_operations(
    ktrdr_home: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[OperationsService]:
    """The worker's operations service on a fresh store in the temp KTRDR_HOME."""
    monkeypatch.setattr(reporter_module, "_operations", None)
    service = worker_operations()
    yield service
    service.store.dispose()


def test_assessment_job_writes_the_file_and_counts_trials(
    job_operations: OperationsService, ktrdr_home: Path
) -> None:
    strategies = ktrdr_home / "strategies"
    example = strategy_to_dict(load_strategy(EXAMPLES / "eurusd_rsi_macd_mlp.yaml"))
    strategy_path = save_strategy(_with_threshold(example), strategies)
    ExperimentMemory(job_operations.store.engine).record(
        ExperimentRecord(
            experiment_id="op_agent_research_20260101_000000_00000001",
            created_at=datetime(2026, 1, 1, tzinfo=UTC),
            strategy_name="earlier",
            designer="offline",
            status="failed",
        )
    )
    operation = job_operations.create("agent_assessment")
    job_operations.start(operation.operation_id)
    request = {
        "assessor": "offline",
        "strategy_name": "eurusd_rsi_macd_mlp",
        "strategy_path": str(strategy_path),
        "training_result": training(),
        "backtest_result": backtest(exposure=0.92),
        "gates": BOTH_PASSED,
        "experiment_id": "op_agent_research_20260102_000000_00000002",
    }

    summary = run_assessment_job(operation.operation_id, request)

    path = strategies / "eurusd_rsi_macd_mlp" / "assessment.json"
    assert summary == {
        "assessment_path": str(path),
        "verdict": "promising",
        "tokens": {"input": 0, "output": 0},
        "cost_usd": 0.0,
    }
    written = json.loads(path.read_text())
    assert written["trials_so_far"] == 2
    assert written["operation_id"] == operation.operation_id
    assert (
        "exposure 92%: raise decisions.confidence_threshold from 0.55 to 0.65"
        in (written["suggestions"])
    )


@pytest.mark.parametrize(
    ("deterministic", "metrics", "verdict"),
    [
        ("neutral", {}, "neutral"),  # the healthy rules would say promising: never raised
        ("poor", {}, "poor"),
        ("promising", {}, "promising"),
        ("promising", {"sharpe_ratio": 0.3}, "neutral"),  # the rules lower it
        ("promising", {"sharpe_ratio": -0.2}, "poor"),
    ],
)
def test_the_offline_assessor_may_lower_the_deterministic_verdict_never_raise_it(
    deterministic: str, metrics: dict, verdict: str
) -> None:
    reason = "dsr 0.43 < 0.95 (37 trials)"
    result = assess(
        "alpha",
        training(),
        backtest(**metrics),
        BOTH_PASSED,
        37,
        statistics=STATISTICS,
        deterministic=(deterministic, reason),
    )
    assert result["verdict"] == verdict
    assert result["deterministic_verdict"] == deterministic
    assert result["statistics"] == STATISTICS


def test_the_offline_text_cites_the_statistics_and_the_verdict_reason() -> None:
    reason = "dsr 0.43 < 0.95 (37 trials)"
    result = assess(
        "alpha",
        training(),
        backtest(),
        BOTH_PASSED,
        37,
        statistics=STATISTICS,
        deterministic=("neutral", reason),
    )
    assert result["verdict_reason"] == reason
    assert f"research-window verdict neutral: {reason}" in result["weaknesses"]
    assert (
        "probabilistic Sharpe ratio 0.91 falls to 0.43 once deflated for 37 trials"
        in result["weaknesses"]
    )
    assert "95% bootstrap interval of the annualised Sharpe [-1.90, 10.40]" in result["weaknesses"]
    assert "probability of backtest overfitting 0.62 over 37 trials" in result["weaknesses"]


def test_the_assessment_job_counts_trials_from_the_statistics(
    job_operations: OperationsService, ktrdr_home: Path
) -> None:
    operation = job_operations.create("agent_assessment")
    job_operations.start(operation.operation_id)
    request = {
        "assessor": "offline",
        "strategy_name": "alpha",
        "training_result": training(),
        "backtest_result": backtest(),
        "gates": BOTH_PASSED,
        "statistics": STATISTICS,
        "deterministic_verdict": "neutral",
        "verdict_reason": "dsr 0.43 < 0.95 (37 trials)",
    }
    summary = run_assessment_job(operation.operation_id, request)
    assert summary["verdict"] == "neutral"
    written = json.loads(Path(summary["assessment_path"]).read_text())
    assert written["trials_so_far"] == 37 and written["verdict_reason"] == request["verdict_reason"]


def test_assessment_job_refuses_other_assessors(job_operations: OperationsService) -> None:
    with pytest.raises(ValidationError, match="assessor 'mystery' is not available"):
        run_assessment_job("op_agent_assessment_x", {"assessor": "mystery", "strategy_name": "a"})


@pytest.mark.parametrize("package", [ktrdr.agents, ktrdr.agents.assessment])
def test_all_matches_the_public_namespace(package: Any) -> None:
    public = {
        name
        for name, value in vars(package).items()
        if not name.startswith("_")
        and not getattr(value, "__path__", None)
        and getattr(value, "__module__", "").startswith(package.__name__)
    }
    public |= {name for name in vars(package) if name.isupper() and not name.startswith("_")}

    assert set(package.__all__) == public
