"""The research cycle's phases and the legal moves between them (DESIGN §4).

Like operation statuses (``ktrdr/operations/models.py``), the phases are an enum with a comment
on each, named sets that together cover it, and the legal transitions as a table; every phase
change goes through ``check_phase_transition``.
"""

from __future__ import annotations

from enum import StrEnum

from ktrdr.errors import InvariantError


class Phase(StrEnum):
    """Where a research cycle is; persisted as ``metadata.parameters.phase``."""

    IDLE = "idle"  # created: nothing started yet
    DESIGNING = "designing"  # an agent_design child designs the strategy
    TRAINING = "training"  # the real training operation trains the folds and the final model
    BACKTESTING = "backtesting"  # the walk-forward backtest: each fold on its OOS slice
    ASSESSING = "assessing"  # an agent_assessment child writes the research-window verdict
    HOLDOUT = "holdout"  # a promising model meets its sealed holdout, once (DESIGN §11)


START_PHASES = frozenset({Phase.IDLE})
CHILD_PHASES = frozenset(
    {Phase.DESIGNING, Phase.TRAINING, Phase.BACKTESTING, Phase.ASSESSING, Phase.HOLDOUT}
)

# (from, to): every move the orchestrator may make. A phase "to itself" restarts it with a new
# child after the previous one was lost with its server (at most once per phase).
PHASE_TRANSITIONS: frozenset[tuple[Phase, Phase]] = frozenset(
    {
        (Phase.IDLE, Phase.DESIGNING),
        (Phase.IDLE, Phase.TRAINING),  # the user chose the strategy: no design
        (Phase.DESIGNING, Phase.TRAINING),
        (Phase.TRAINING, Phase.BACKTESTING),
        (Phase.BACKTESTING, Phase.ASSESSING),
        (Phase.ASSESSING, Phase.HOLDOUT),  # only when the research-window verdict is promising
        *((phase, phase) for phase in CHILD_PHASES),
    }
)


def check_phase_transition(current: Phase, target: Phase) -> None:
    """Raise ``InvariantError("research phase training -> designing")`` for an illegal move."""
    if (current, target) not in PHASE_TRANSITIONS:
        raise InvariantError(f"illegal research phase transition {current} -> {target}")
