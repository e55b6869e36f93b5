"""The research cycle's phase table, transitions and typed state."""

from __future__ import annotations

import itertools
import logging

import pytest

from ktrdr.agents.cycle import (
    CHILD_KEYS,
    CHILD_PHASES,
    PHASE_TRANSITIONS,
    PHASES,
    START_PHASES,
    CycleEvents,
    CycleInterrupted,
    CycleState,
    GateOutcome,
    Phase,
    check_phase_transition,
    cycle_outcome,
)
from ktrdr.agents.cycle.steps import assessed
from ktrdr.errors import InvariantError
from ktrdr.operations import OperationStatus


def test_the_named_phase_sets_cover_the_enum_without_overlap() -> None:
    assert set(Phase) == START_PHASES | CHILD_PHASES
    assert not START_PHASES & CHILD_PHASES


def test_every_phase_with_a_child_has_one_spec_and_one_child_key() -> None:
    assert set(PHASES) == CHILD_PHASES == set(CHILD_KEYS)
    assert all(spec.phase is phase for phase, spec in PHASES.items())


def test_the_progress_bar_runs_forward_through_the_phases() -> None:
    order = [Phase.DESIGNING, Phase.TRAINING, Phase.BACKTESTING, Phase.ASSESSING, Phase.HOLDOUT]
    for current, following in itertools.pairwise(order):
        spec = PHASES[current]
        assert spec.progress_start + spec.progress_span == PHASES[following].progress_start
    assert PHASES[Phase.HOLDOUT].progress_start + PHASES[Phase.HOLDOUT].progress_span == 100


@pytest.mark.parametrize(("current", "target"), sorted(PHASE_TRANSITIONS))
def test_legal_transitions_pass(current: Phase, target: Phase) -> None:
    check_phase_transition(current, target)


@pytest.mark.parametrize(
    ("current", "target"),
    sorted(set(itertools.product(Phase, Phase)) - PHASE_TRANSITIONS),
)
def test_illegal_transitions_are_refused_naming_both_phases(current: Phase, target: Phase) -> None:
    with pytest.raises(InvariantError, match=f"{current} -> {target}"):
        check_phase_transition(current, target)


def test_the_state_round_trips_through_the_stored_parameters() -> None:
    state = CycleState(
        phase=Phase.TRAINING,
        training_op_id="op_training_1",
        training_gate=GateOutcome(passed=True, reason="passed"),
        gates={"backtest_min_trades": 5, "training_min_accuracy": 0.4},
    )
    stored = state.to_parameters()
    assert stored["phase"] == "training"
    assert stored["training_gate"] == {"passed": True, "reason": "passed"}
    assert "backtest_op_id" not in stored  # a child's key appears once the child exists
    assert CycleState.from_parameters(stored) == state
    assert state.child_id() == "op_training_1"


def test_an_unknown_key_in_the_stored_state_is_refused() -> None:
    with pytest.raises(ValueError, match="phsae"):
        CycleState.from_parameters({"phsae": "training"})


def test_spend_accumulates_over_design_and_assessment() -> None:
    state = CycleState().with_spend({"tokens": {"input": 100, "output": 20}, "cost_usd": 0.01})
    state = state.with_spend({"tokens": {"input": 5}, "cost_usd": 0.002})
    assert (state.tokens.input, state.tokens.output) == (105, 20)
    assert state.cost_usd == pytest.approx(0.012)


@pytest.mark.parametrize(
    ("status", "outcome", "expected"),
    [
        (OperationStatus.COMPLETED, None, "completed"),
        (OperationStatus.CANCELLED, None, "cancelled"),
        (OperationStatus.FAILED, "gate_failed", "gate_failed"),
        (OperationStatus.FAILED, "failed", "failed"),
    ],
)
def test_the_outcome_tells_a_gate_failure_from_a_failure(
    status: OperationStatus, outcome: str | None, expected: str
) -> None:
    assert cycle_outcome(status, CycleState(outcome=outcome)) == expected


def test_without_a_deterministic_verdict_an_assessor_cannot_call_a_cycle_promising() -> None:
    # A cycle backtested before deterministic verdicts existed, resumed at its assessment.
    state = CycleState(phase=Phase.ASSESSING, assessment_op_id="op_assess")
    done = assessed(None, "op_research", state, {"verdict": "promising"})  # type: ignore[arg-type]
    assert done.state.verdict == "neutral" and done.state.assessor_verdict == "promising"
    assert done.next_phase is None  # no holdout look


def test_a_cycle_event_subscriber_that_raises_is_logged_and_the_others_still_run(caplog) -> None:
    events, seen = CycleEvents(), []

    def broken(event: object) -> None:
        raise RuntimeError("report pool closed")

    events.subscribe(broken)
    events.subscribe(seen.append)
    event = CycleInterrupted("op_agent_research_1")
    with caplog.at_level(logging.ERROR, logger="ktrdr.agents.cycle.events"):
        events.publish(event)

    assert seen == [event]
    assert "op_agent_research_1: a cycle-event subscriber failed on CycleInterrupted" in caplog.text
