"""Research-cycle metrics (Prometheus), spans (OpenTelemetry) and the operation id on log records.

The research cycle's events reach the ``*_cycle``, ``phase_finished``, ``gate_checked`` and
``spend_recorded`` functions (``ktrdr/agents/cycle/telemetry.py``); the API serves the metrics at
``GET /metrics``. Spans are exported over OTLP only when ``OTEL_EXPORTER_OTLP_ENDPOINT`` is set;
otherwise the OpenTelemetry API is a no-op.
"""

from __future__ import annotations

import logging
import os
import threading
from datetime import datetime

from opentelemetry import trace
from prometheus_client import Counter, Histogram

logger = logging.getLogger(__name__)

OTLP_ENDPOINT_ENV = "OTEL_EXPORTER_OTLP_ENDPOINT"
SERVICE_NAME = "ktrdr"
PHASE_BUCKETS = (1, 5, 15, 30, 60, 120, 300, 600, 1800, 3600, 7200, float("inf"))

CYCLES = Counter(
    "agent_cycles", "Research cycles that ended, by outcome.", ["outcome"]
)  # outcome: completed | failed | gate_failed | cancelled
PHASE_DURATION = Histogram(
    "agent_phase_duration_seconds",
    "Seconds a research cycle spent in a phase (designing, training, backtesting, assessing).",
    ["phase"],
    buckets=PHASE_BUCKETS,
)
GATE_RESULTS = Counter(
    "agent_gate_results",
    "Gate checks, by gate (training, backtest) and result (passed, failed).",
    ["gate", "result"],
)
TOKENS = Counter("agent_tokens", "LLM tokens (input + output) spent, by phase.", ["phase"])
BUDGET_SPEND = Counter("agent_budget_spend_usd", "LLM spend in USD.")

_cycle_spans: dict[str, trace.Span] = {}
_spans_lock = threading.Lock()
_tracing_lock = threading.Lock()
_tracing = {"configured": False, "exporting": False}


# -- research-cycle metrics and spans ---------------------------------------------------------


def start_cycle(operation_id: str) -> None:
    """Open the cycle's span (one per orchestrator loop: a resumed cycle gets a new one)."""
    span = tracer().start_span("research_cycle", attributes={"ktrdr.operation_id": operation_id})
    with _spans_lock:
        previous = _cycle_spans.pop(operation_id, None)
        _cycle_spans[operation_id] = span
    if previous is not None:
        previous.end()


def stop_cycle(operation_id: str, reason: str = "interrupted") -> None:
    """Close the cycle's span without counting an outcome (the loop stopped with the server)."""
    with _spans_lock:
        span = _cycle_spans.pop(operation_id, None)
    if span is not None:
        span.set_attribute("ktrdr.outcome", reason)
        span.end()


def finish_cycle(
    operation_id: str, outcome: str, phase: str, phase_started_at: datetime | None
) -> None:
    """Count the ended cycle's ``outcome`` (``gate_failed`` apart from ``failed``), close its spans.

    ``phase`` and ``phase_started_at`` are the phase the cycle ended in and when it began.
    """
    phase_finished(operation_id, phase, phase_started_at, outcome)
    CYCLES.labels(outcome=outcome).inc()
    stop_cycle(operation_id, outcome)


def phase_finished(
    operation_id: str, phase: str, started_at: datetime | None, outcome: str = "completed"
) -> None:
    """Observe how long ``phase`` took (since ``started_at``); emit its span. No-op for idle."""
    if phase == "idle" or started_at is None:
        return
    end = datetime.now(started_at.tzinfo)
    PHASE_DURATION.labels(phase=phase).observe(max(0.0, (end - started_at).total_seconds()))
    with _spans_lock:
        parent = _cycle_spans.get(operation_id)
    parent_context = trace.set_span_in_context(parent) if parent is not None else None
    span = tracer().start_span(
        f"research_phase.{phase}",
        context=parent_context,
        start_time=_nanos(started_at),
        attributes={"ktrdr.operation_id": operation_id, "ktrdr.phase": phase},
    )
    span.set_attribute("ktrdr.outcome", outcome)
    span.end(end_time=_nanos(end))


def gate_checked(gate: str, passed: bool) -> None:
    """Count one gate check, e.g. ``gate_checked("training", False)``."""
    GATE_RESULTS.labels(gate=gate, result="passed" if passed else "failed").inc()


def spend_recorded(phase: str, tokens: int, cost_usd: float) -> None:
    """Count the LLM tokens (input + output) and USD a design or assessment job spent."""
    if tokens:
        TOKENS.labels(phase=phase).inc(tokens)
    if cost_usd > 0:
        BUDGET_SPEND.inc(cost_usd)


def _nanos(moment: datetime) -> int:
    return int(moment.timestamp() * 1_000_000_000)


# -- tracing setup ----------------------------------------------------------------------------


def tracer() -> trace.Tracer:
    """ktrdr's tracer; exports over OTLP/HTTP when ``OTEL_EXPORTER_OTLP_ENDPOINT`` is set."""
    configure_tracing()
    return trace.get_tracer("ktrdr")


def configure_tracing() -> bool:
    """Install an OTLP-exporting tracer provider once, if the endpoint is set; True if installed."""
    with _tracing_lock:
        if _tracing["configured"]:
            return _tracing["exporting"]
        _tracing["configured"] = True
        if not os.environ.get(OTLP_ENDPOINT_ENV):
            return False
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
        from opentelemetry.sdk.resources import Resource
        from opentelemetry.sdk.trace import TracerProvider
        from opentelemetry.sdk.trace.export import BatchSpanProcessor

        provider = TracerProvider(resource=Resource.create({"service.name": SERVICE_NAME}))
        provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter()))
        trace.set_tracer_provider(provider)
        _tracing["exporting"] = True
        logger.info("tracing: exporting spans to %s", os.environ[OTLP_ENDPOINT_ENV])
        return True
