"""Cycle events: past-tense facts the orchestrator publishes, and the bus that delivers them.

Observability (metrics and spans), the experiment memory and ``AgentService.status`` subscribe
to these instead of being called from inside the orchestrator. Delivery is synchronous and in
subscription order; a subscriber that raises stops the transition that published the event (the
experiment must be recorded before a cycle turns terminal), so subscribers keep their work small.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from ktrdr.agents.cycle.phases import Phase
from ktrdr.agents.cycle.state import CycleState
from ktrdr.operations import Operation

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class CycleStarted:
    """An orchestrator loop started driving the cycle (a resumed cycle starts again)."""

    operation_id: str


@dataclass(frozen=True)
class PhaseEntered:
    """The cycle left ``previous`` (entered at ``previous_started_at``) and entered ``phase``."""

    operation_id: str
    phase: Phase
    previous: Phase
    previous_started_at: datetime | None
    child_operation_id: str


@dataclass(frozen=True)
class GateChecked:
    """A quality gate judged the child's result: ``gate`` is ``training`` or ``backtest``."""

    operation_id: str
    gate: str
    passed: bool
    reason: str


@dataclass(frozen=True)
class SpendRecorded:
    """A design or assessment job reported the LLM tokens and USD it spent."""

    operation_id: str
    phase: Phase
    input_tokens: int
    output_tokens: int
    cost_usd: float


@dataclass(frozen=True)
class _CycleEnded:
    operation: Operation
    state: CycleState

    @property
    def operation_id(self) -> str:
        """The research operation's id."""
        return self.operation.operation_id


@dataclass(frozen=True)
class CycleConcluded(_CycleEnded):
    """The cycle's outcome was decided; published just before the terminal write.

    ``operation`` is the research operation as it is about to be stored (status and
    error_message set), so a subscriber can act before anyone sees the cycle ended.
    """


@dataclass(frozen=True)
class CycleFinished(_CycleEnded):
    """The research operation is terminal in the store (completed, failed or cancelled)."""


@dataclass(frozen=True)
class CycleInterrupted:
    """The loop stopped with the server; the cycle stays active and resumes on the next start."""

    operation_id: str


CycleEvent = (
    CycleStarted
    | PhaseEntered
    | GateChecked
    | SpendRecorded
    | CycleConcluded
    | CycleFinished
    | CycleInterrupted
)
Subscriber = Callable[[CycleEvent], None]


class CycleEvents:
    """Delivers each published event to every subscriber, synchronously, in order."""

    def __init__(self) -> None:
        self._subscribers: list[Subscriber] = []
        self._lock = threading.Lock()

    def subscribe(self, subscriber: Subscriber) -> None:
        """Call ``subscriber(event)`` for every event published from now on."""
        with self._lock:
            self._subscribers.append(subscriber)

    def publish(self, event: CycleEvent) -> None:
        """Deliver ``event`` to the subscribers; one that raises is logged and the others still
        run (a listener's failure must not break the cycle's transition)."""
        with self._lock:
            subscribers = list(self._subscribers)
        for subscriber in subscribers:
            try:
                subscriber(event)
            except Exception:
                logger.exception(
                    "operation %s: a cycle-event subscriber failed on %s",
                    event.operation_id,
                    type(event).__name__,
                )
