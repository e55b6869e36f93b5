"""Cycle events → metrics and spans: the observability subscriber of the research cycle."""

from __future__ import annotations

from ktrdr import observability
from ktrdr.agents.cycle.events import (
    CycleEvent,
    CycleFinished,
    CycleInterrupted,
    CycleStarted,
    GateChecked,
    PhaseEntered,
    SpendRecorded,
)
from ktrdr.agents.cycle.state import cycle_outcome


def observe(event: CycleEvent) -> None:
    """Turn one cycle event into its metrics and spans (subscribe this to ``CycleEvents``)."""
    match event:
        case CycleStarted(operation_id):
            observability.start_cycle(operation_id)
        case PhaseEntered(operation_id, _phase, previous, previous_started_at, _child):
            observability.phase_finished(operation_id, previous, previous_started_at)
        case GateChecked(_operation_id, gate, passed, _reason):
            observability.gate_checked(gate, passed)
        case SpendRecorded(_operation_id, phase, input_tokens, output_tokens, cost_usd):
            observability.spend_recorded(phase, input_tokens + output_tokens, cost_usd)
        case CycleFinished(operation, state):
            observability.finish_cycle(
                operation.operation_id,
                cycle_outcome(operation.status, state),
                state.phase,
                state.phase_started_at,
            )
        case CycleInterrupted(operation_id):
            observability.stop_cycle(operation_id)
