"""The research cycle as one typed state machine (DESIGN §4).

``Phase`` and its transition table (``phases``), the typed ``CycleState`` kept in the research
operation's ``metadata.parameters`` (``state``), one ``PhaseSpec`` per phase with how its child
starts and what its result leads to (``steps``), and the past-tense events the orchestrator
publishes (``events``). The loop that drives it is ``ktrdr.agents.research_worker``.
"""

from __future__ import annotations

from ktrdr.agents.cycle.events import (
    CycleConcluded,
    CycleEvent,
    CycleEvents,
    CycleFinished,
    CycleInterrupted,
    CycleStarted,
    GateChecked,
    PhaseEntered,
    SpendRecorded,
)
from ktrdr.agents.cycle.phases import (
    CHILD_PHASES,
    PHASE_TRANSITIONS,
    START_PHASES,
    Phase,
    check_phase_transition,
)
from ktrdr.agents.cycle.state import CHILD_KEYS, CycleState, GateOutcome, Tokens, cycle_outcome
from ktrdr.agents.cycle.steps import (
    PHASES,
    BacktestStarter,
    ChildStarter,
    Completion,
    CycleServices,
    PhaseSpec,
    TrainingStarter,
)

__all__ = [
    "CHILD_KEYS",
    "CHILD_PHASES",
    "PHASES",
    "PHASE_TRANSITIONS",
    "START_PHASES",
    "BacktestStarter",
    "ChildStarter",
    "Completion",
    "CycleConcluded",
    "CycleEvent",
    "CycleEvents",
    "CycleFinished",
    "CycleInterrupted",
    "CycleServices",
    "CycleStarted",
    "CycleState",
    "GateChecked",
    "GateOutcome",
    "Phase",
    "PhaseEntered",
    "PhaseSpec",
    "SpendRecorded",
    "Tokens",
    "TrainingStarter",
    "check_phase_transition",
    "cycle_outcome",
]
