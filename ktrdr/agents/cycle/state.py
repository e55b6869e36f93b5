"""``CycleState``: the research cycle's typed state, stored in ``metadata.parameters``.

The orchestrator reads it once per tick (``from_parameters``) and writes it once per transition
(``to_parameters``); the keys are DESIGN §4's parent metadata keys.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from ktrdr.agents.cycle.phases import Phase
from ktrdr.operations import OperationStatus

# The child-id key of each phase that has a child.
CHILD_KEYS: dict[Phase, str] = {
    Phase.DESIGNING: "design_op_id",
    Phase.TRAINING: "training_op_id",
    Phase.BACKTESTING: "backtest_op_id",
    Phase.ASSESSING: "assessment_op_id",
    Phase.HOLDOUT: "holdout_op_id",
}


class GateOutcome(BaseModel):
    """A gate's result as stored: ``{"passed": false, "reason": "too_few_trades (3 < 5)"}``."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    passed: bool
    reason: str


class Tokens(BaseModel):
    """LLM tokens a cycle has spent so far."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    input: int = 0
    output: int = 0


class CycleState(BaseModel):
    """Everything the orchestrator knows about one research cycle; immutable, updated by copy."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    phase: Phase = Phase.IDLE
    phase_started_at: datetime | None = None
    # what the trigger asked for
    designer: str = "offline"  # offline | anthropic | openai | user (the trigger named a strategy)
    assessor: str = "offline"
    llm_model: str | None = None
    assessor_model: str | None = None
    brief: str | None = None
    symbol: str | None = None  # the market to design for (None: the designer chooses)
    timeframe: str | None = None
    seed: int | None = None
    gates: dict[str, float | int] = Field(default_factory=dict)  # the trigger's gate thresholds
    # the children, one per phase
    design_op_id: str | None = None
    training_op_id: str | None = None
    backtest_op_id: str | None = None
    assessment_op_id: str | None = None
    holdout_op_id: str | None = None
    restarted_phases: list[Phase] = Field(default_factory=list)
    # what the children produced
    strategy_name: str | None = None
    strategy_path: str | None = None
    design: dict[str, Any] = Field(default_factory=dict)
    training_result: dict[str, Any] | None = None
    model_path: str | None = None
    training_gate: GateOutcome | None = None
    backtest_result: dict[str, Any] | None = None
    backtest_gate: GateOutcome | None = None
    statistics: dict[str, Any] | None = None  # the walk-forward trial's (DESIGN §11)
    deterministic_verdict: str | None = None  # from the statistics (evaluation.verdicts)
    verdict_reason: str | None = None  # its reason, e.g. "dsr 0.43 < 0.95 (37 trials)"
    assessment_path: str | None = None
    assessor_verdict: str | None = None  # the assessor's own; it may lower, never raise
    verdict: str | None = None  # the cycle's: the lower of the deterministic and the assessor's
    holdout: dict[str, Any] | None = None  # steps.HOLDOUT_KEYS of the look: verdict, psr, looks…
    tokens: Tokens = Field(default_factory=Tokens)
    cost_usd: float = 0.0
    outcome: str | None = None  # failed | gate_failed, once the cycle has failed

    @classmethod
    def from_parameters(cls, parameters: dict[str, Any]) -> CycleState:
        """The state stored in a research operation's ``metadata.parameters``."""
        return cls.model_validate(parameters)

    def to_parameters(self) -> dict[str, Any]:
        """The JSON form written to ``metadata.parameters``: the keys set so far (a child's id
        appears once the child exists; the trigger's choices are there from the start)."""
        return self.model_dump(mode="json", exclude_unset=True)

    def child_id(self, phase: Phase | None = None) -> str | None:
        """The operation id of the child of ``phase`` (default: the current phase), if any."""
        key = CHILD_KEYS.get(phase or self.phase)
        return getattr(self, key) if key else None

    def with_spend(self, result: dict[str, Any]) -> CycleState:
        """This state plus the tokens and USD a design or assessment job reported."""
        used = result.get("tokens") or {}
        tokens = Tokens(
            input=self.tokens.input + int(used.get("input", 0)),
            output=self.tokens.output + int(used.get("output", 0)),
        )
        cost = round(self.cost_usd + float(result.get("cost_usd") or 0.0), 6)
        return self.model_copy(update={"tokens": tokens, "cost_usd": cost})

    def gate_outcomes(self) -> dict[str, dict[str, Any] | None]:
        """The gates checked so far, as stored: ``{"training": {...}, "backtest": None}``."""
        return {
            "training": self.training_gate.model_dump() if self.training_gate else None,
            "backtest": self.backtest_gate.model_dump() if self.backtest_gate else None,
        }

    def summary(self) -> dict[str, Any]:
        """The research operation's result_summary: what was tried, gates, metrics, artifacts."""
        training = self.training_result or {}
        backtest = self.backtest_result or {}
        return {
            "strategy_name": self.strategy_name,
            "verdict": self.verdict,
            "verdict_reason": self.verdict_reason,
            "deterministic_verdict": self.deterministic_verdict,
            "assessor_verdict": self.assessor_verdict,
            "statistics": self.statistics,
            "walk_forward": walk_forward_summary(training, backtest),
            "holdout": self.holdout,
            "training_gate": self.gate_outcomes()["training"],
            "backtest_gate": self.gate_outcomes()["backtest"],
            "test_metrics": training.get("test_metrics"),
            "backtest_metrics": backtest.get("metrics"),
            "strategy_path": self.strategy_path,
            "model_path": self.model_path,
            "trades_path": (backtest.get("artifacts") or {}).get("trades"),
            "assessment_path": self.assessment_path,
            "tokens": self.tokens.model_dump(),
            "cost_usd": self.cost_usd,
        }


def walk_forward_summary(
    training: dict[str, Any], backtest: dict[str, Any]
) -> dict[str, Any] | None:
    """The folds of a walk-forward cycle: each fold's span, test metrics and OOS backtest."""
    trained = training.get("walk_forward")
    if not trained:
        return None
    tested = {fold["fold"]: fold for fold in backtest.get("folds") or []}
    return {
        "scheme": trained.get("scheme"),
        "seeds": trained.get("seeds"),
        "seed_sharpes": backtest.get("seed_sharpes"),
        "folds": [
            {**fold, "backtest_metrics": (tested.get(fold["fold"]) or {}).get("metrics")}
            for fold in trained.get("folds") or []
        ],
    }


def cycle_outcome(status: OperationStatus, state: CycleState) -> str:
    """``completed``, ``cancelled``, ``gate_failed`` or ``failed`` for a terminal research op."""
    if status is OperationStatus.FAILED:
        return "gate_failed" if state.outcome == "gate_failed" else "failed"
    return status.value
