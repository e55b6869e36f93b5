"""One table of phase specs: what each phase's child is, how it starts, what its result leads to.

``start`` functions start the phase's child through a service and return the child's operation
id; ``on_completed`` functions are pure: from the state and the child's ``result_summary`` they
decide the next phase (or the end) and the events to publish. The orchestrator
(``research_worker.py``) persists and publishes what they decide.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

from ktrdr.agents.cycle.events import CycleEvent, GateChecked, SpendRecorded
from ktrdr.agents.cycle.phases import Phase
from ktrdr.agents.cycle.state import CHILD_KEYS, CycleState, GateOutcome
from ktrdr.agents.gates import GateThresholds, check_backtest_gate, check_training_gate
from ktrdr.backtesting.ranges import WALK_FORWARD
from ktrdr.errors import InvariantError
from ktrdr.evaluation.verdicts import NEUTRAL, PROMISING, lower_verdict, research_verdict
from ktrdr.settings import Settings
from ktrdr.strategy import StrategyConfig, load_strategy


class ChildStarter(Protocol):
    """Starts one kind of child operation of a research cycle and returns its id."""

    def start(self, parent_operation_id: str, request: dict[str, Any]) -> str:
        """Create the child operation, submit its job, return the operation id."""
        ...


class TrainingStarter(Protocol):
    """What the cycle needs of ``TrainingService``: start the real training operation."""

    def start_training(
        self, strategy: StrategyConfig, *, parent_operation_id: str | None = None
    ) -> Mapping[str, Any]:
        """Start training ``strategy``; the answer carries the new ``operation_id``."""
        ...


class BacktestStarter(Protocol):
    """What the cycle needs of ``BacktestingService``: start the real backtesting operation."""

    def start_backtest(
        self, model_path: str, *, parent_operation_id: str | None = None, mode: str | None = None
    ) -> Mapping[str, Any]:
        """Backtest the bundle at ``model_path``; the answer carries the new ``operation_id``."""
        ...


class HoldoutStarter(Protocol):
    """What the cycle needs of ``HoldoutService``: the one counted look at a model's holdout."""

    def evaluate(
        self, model_path: str, *, parent_operation_id: str | None = None
    ) -> Mapping[str, Any]:
        """Start the holdout backtest of ``model_path``; the answer carries its ``operation_id``."""
        ...

    def evaluation(self, model_path: str) -> Mapping[str, Any]:
        """The stored look at ``model_path``'s holdout; its ``result`` once the backtest ended."""
        ...


class StatisticsSource(Protocol):
    """What the cycle needs of the trial ledger: a walk-forward backtest's statistics."""

    def statistics(self, backtest_operation_id: str) -> Mapping[str, Any]:
        """Record the backtest's trial and return its research-window ``statistics``."""
        ...


@dataclass(frozen=True)
class CycleServices:
    """The services the phases start their children through."""

    design: ChildStarter
    assessment: ChildStarter
    training: TrainingStarter
    backtest: BacktestStarter
    holdout: HoldoutStarter
    statistics: StatisticsSource
    settings: Settings


@dataclass(frozen=True)
class Completion:
    """What a completed child leads to: the new state, then the next phase or the cycle's end.

    ``next_phase`` None with no ``gate_failure`` completes the cycle; a ``gate_failure`` message
    ("Training gate failed: …") fails it as ``gate_failed``.
    """

    state: CycleState
    next_phase: Phase | None = None
    gate_failure: str | None = None
    events: tuple[CycleEvent, ...] = field(default_factory=tuple)


# What a research result_summary keeps of a holdout look (DESIGN §11 Results).
HOLDOUT_KEYS = ("verdict", "reason", "psr", "metrics", "start_date", "end_date", "looks")

StartChild = Callable[[CycleServices, str, CycleState], str]
OnCompleted = Callable[[CycleServices, str, CycleState, dict[str, Any]], Completion]


@dataclass(frozen=True)
class PhaseSpec:
    """One phase of the cycle: its child, its share of the progress bar, its handlers."""

    phase: Phase
    progress_start: float  # the cycle's percentage on entering the phase
    progress_span: float  # how much of the bar the child's own progress fills
    noun: str  # "Training" in "Training failed: …"
    start: StartChild
    on_completed: OnCompleted

    @property
    def child_key(self) -> str:
        """The parameters key holding the child's operation id, e.g. ``training_op_id``."""
        return CHILD_KEYS[self.phase]


# -- starting children -------------------------------------------------------------------------


def start_design(services: CycleServices, operation_id: str, state: CycleState) -> str:
    """Start the ``agent_design`` child with the trigger's designer, brief, seed and model."""
    request = {
        "designer": state.designer,
        "brief": state.brief,
        "seed": services.settings.agent_seed if state.seed is None else state.seed,
        "model": state.llm_model,
        "symbol": state.symbol,
        "timeframe": state.timeframe,
    }
    return services.design.start(operation_id, request)


def start_training(services: CycleServices, operation_id: str, state: CycleState) -> str:
    """Start the real training operation on the designed (or chosen) strategy."""
    strategy = load_strategy(_required(state.strategy_path, "strategy_path"))
    started = services.training.start_training(strategy, parent_operation_id=operation_id)
    return str(started["operation_id"])


def start_backtest(services: CycleServices, operation_id: str, state: CycleState) -> str:
    """Start the real backtesting operation on the trained model: its walk-forward backtest,
    whatever range the strategy's ``backtest`` section names."""
    model_path = _required(state.model_path, "model_path")
    started = services.backtest.start_backtest(
        model_path, parent_operation_id=operation_id, mode=WALK_FORWARD
    )
    return str(started["operation_id"])


def start_assessment(services: CycleServices, operation_id: str, state: CycleState) -> str:
    """Start the ``agent_assessment`` child with the results and gates so far."""
    request = {
        "assessor": state.assessor,
        "strategy_name": _required(state.strategy_name, "strategy_name"),
        "strategy_path": _required(state.strategy_path, "strategy_path"),
        "training_result": state.training_result,
        "backtest_result": state.backtest_result,
        "gates": state.gate_outcomes(),
        "statistics": state.statistics,
        "deterministic_verdict": state.deterministic_verdict,
        "verdict_reason": state.verdict_reason,
        "experiment_id": operation_id,
    }
    return services.assessment.start(operation_id, request)


def start_holdout(services: CycleServices, operation_id: str, state: CycleState) -> str:
    """Start the holdout evaluation of the promising model (a backtest in mode ``holdout``)."""
    model_path = _required(state.model_path, "model_path")
    started = services.holdout.evaluate(model_path, parent_operation_id=operation_id)
    return str(started["operation_id"])


# -- what a completed child leads to -----------------------------------------------------------


def designed(
    services: CycleServices, operation_id: str, state: CycleState, result: dict[str, Any]
) -> Completion:
    """The strategy is designed: remember it and its spend, then train it."""
    updated = state.with_spend(result).model_copy(
        update={
            "strategy_name": result["strategy_name"],
            "strategy_path": result["strategy_path"],
            "design": result.get("design") or {},
            "llm_model": result.get("llm_model") or state.llm_model,
        }
    )
    spent = _spend_event(operation_id, Phase.DESIGNING, result)
    return Completion(updated, Phase.TRAINING, events=spent)


def trained(
    services: CycleServices, operation_id: str, state: CycleState, result: dict[str, Any]
) -> Completion:
    """The model is trained: check the training gate, then backtest it."""
    passed, reason = check_training_gate(result, _thresholds(services, state))
    updated = state.model_copy(
        update={"training_result": result, "model_path": result.get("model_path")}
    )
    return _gated(operation_id, updated, "training", passed, reason, Phase.BACKTESTING)


def backtested(
    services: CycleServices, operation_id: str, state: CycleState, result: dict[str, Any]
) -> Completion:
    """The backtest ran: count it as a trial and work out its statistics and deterministic
    verdict, check the backtest gate, then assess the experiment."""
    passed, reason = check_backtest_gate(result, _thresholds(services, state))
    statistics = dict(
        services.statistics.statistics(_required(state.backtest_op_id, "backtest_op_id"))
    )
    verdict, why = research_verdict(
        statistics,
        min_dsr=services.settings.verdict_min_dsr,
        min_trades=services.settings.verdict_min_trades,
    )
    updated = state.model_copy(
        update={
            "backtest_result": result,
            "statistics": statistics,
            "deterministic_verdict": verdict,
            "verdict_reason": why,
        }
    )
    return _gated(operation_id, updated, "backtest", passed, reason, Phase.ASSESSING)


def _gated(
    operation_id: str, state: CycleState, gate: str, passed: bool, reason: str, then: Phase
) -> Completion:
    """Store the gate's outcome; go on to ``then`` if it passed, else end as gate_failed."""
    updated = state.model_copy(update={f"{gate}_gate": GateOutcome(passed=passed, reason=reason)})
    event = GateChecked(operation_id, gate, passed, reason)
    if not passed:
        failure = f"{gate.capitalize()} gate failed: {reason}"
        return Completion(updated, gate_failure=failure, events=(event,))
    return Completion(updated, then, events=(event,))


def assessed(
    services: CycleServices, operation_id: str, state: CycleState, result: dict[str, Any]
) -> Completion:
    """The assessment is written: keep its path and spend; the verdict is the lower of the
    deterministic one and the assessor's (an assessor may lower it, never raise it). A
    promising model meets its holdout next, any other verdict completes the cycle."""
    judged = result.get("verdict")
    # A cycle backtested before deterministic verdicts existed has none: its assessor may not
    # call it promising on its own (no holdout look without the statistics).
    verdict = lower_verdict(state.deterministic_verdict or NEUTRAL, judged)
    updated = state.with_spend(result).model_copy(
        update={
            "assessment_path": result.get("assessment_path"),
            "verdict": verdict,
            "assessor_verdict": judged,
        }
    )
    then = Phase.HOLDOUT if verdict == PROMISING else None
    return Completion(updated, then, events=_spend_event(operation_id, Phase.ASSESSING, result))


def held_out(
    services: CycleServices, operation_id: str, state: CycleState, result: dict[str, Any]
) -> Completion:
    """The holdout backtest ran: keep the look's verdict and count; the cycle is complete.

    The verdict is the holdout service's, read from its stored look (the one place that judges
    a holdout backtest), not worked out again here.
    """
    look = services.holdout.evaluation(_required(state.model_path, "model_path"))
    stored = look.get("result") or {}
    holdout = {key: stored.get(key) for key in HOLDOUT_KEYS}
    return Completion(state.model_copy(update={"holdout": holdout}))


PHASES: dict[Phase, PhaseSpec] = {
    spec.phase: spec
    for spec in (
        PhaseSpec(Phase.DESIGNING, 5.0, 15.0, "Design", start_design, designed),
        PhaseSpec(Phase.TRAINING, 20.0, 45.0, "Training", start_training, trained),
        PhaseSpec(Phase.BACKTESTING, 65.0, 25.0, "Backtest", start_backtest, backtested),
        PhaseSpec(Phase.ASSESSING, 90.0, 5.0, "Assessment", start_assessment, assessed),
        PhaseSpec(Phase.HOLDOUT, 95.0, 5.0, "Holdout evaluation", start_holdout, held_out),
    )
}


def _thresholds(services: CycleServices, state: CycleState) -> GateThresholds:
    return GateThresholds.from_settings(services.settings, state.gates)


def _spend_event(operation_id: str, phase: Phase, result: dict[str, Any]) -> tuple[CycleEvent, ...]:
    tokens = result.get("tokens") or {}
    return (
        SpendRecorded(
            operation_id,
            phase,
            int(tokens.get("input", 0) or 0),
            int(tokens.get("output", 0) or 0),
            float(result.get("cost_usd") or 0.0),
        ),
    )


def _required(value: str | None, key: str) -> str:
    if not value:
        raise InvariantError(f"the research cycle has no {key} to continue with")
    return value
