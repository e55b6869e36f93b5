"""GET /metrics: operation families from the store, agent_* metrics, spans, log record ids."""

from __future__ import annotations

import logging
import subprocess
import sys
from datetime import timedelta

import pytest
from fastapi.testclient import TestClient
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from prometheus_client import REGISTRY, CollectorRegistry, generate_latest
from prometheus_client.parser import text_string_to_metric_families
from support.server import LOOPBACK

from ktrdr import observability
from ktrdr.api import Services
from ktrdr.api.metrics import OperationsCollector
from ktrdr.logging_setup import JsonFormatter, install_log_record_factory
from ktrdr.operations import OperationsService, OperationType
from ktrdr.operations.models import utc_now

Samples = dict[tuple[str, tuple[tuple[str, str], ...]], float]


def parse(text: str) -> Samples:
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def scrape(client: TestClient) -> Samples:
    response = client.get("/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    return parse(response.text)


def key(name: str, **labels: str) -> tuple[str, tuple[tuple[str, str], ...]]:
    return (name, tuple(sorted(labels.items())))


def test_operations_are_counted_from_the_store(operations: OperationsService) -> None:
    for _ in range(2):
        done = operations.create(OperationType.TRAINING).operation_id
        operations.start(done)
        operations.complete(done, {})
    failed = operations.create(OperationType.BACKTESTING).operation_id
    operations.start(failed)
    operations.fail(failed, "boom")
    operations.start(operations.create(OperationType.TRAINING).operation_id)
    operations.create(OperationType.TRAINING)
    registry = CollectorRegistry(auto_describe=False)
    registry.register(OperationsCollector(operations.store.engine))

    samples = parse(generate_latest(registry).decode())

    assert samples[key("ktrdr_operations_total", type="training", status="completed")] == 2
    assert samples[key("ktrdr_operations_total", type="backtesting", status="failed")] == 1
    assert samples[key("ktrdr_operations_active", type="training")] == 2
    assert key("ktrdr_operations_active", type="backtesting") not in samples
    assert samples[key("ktrdr_job_duration_seconds_count", type="training")] == 2
    assert samples[key("ktrdr_job_duration_seconds_bucket", type="training", le="+Inf")] == 2
    assert samples[key("ktrdr_job_duration_seconds_bucket", type="training", le="1.0")] == 2
    assert 0 <= samples[key("ktrdr_job_duration_seconds_sum", type="training")] < 60


def test_the_endpoint_serves_store_and_process_metrics(
    client: TestClient, services: Services
) -> None:
    services.operations.create(OperationType.AGENT_RESEARCH)
    samples = scrape(client)
    assert samples[key("ktrdr_operations_active", type="agent_research")] == 1
    assert any(name == "process_cpu_seconds_total" for name, _ in samples)


def test_agent_metrics_are_served(client: TestClient) -> None:
    before = scrape(client)
    gate = key("agent_gate_results_total", gate="backtest", result="failed")
    observability.gate_checked("backtest", False)
    observability.spend_recorded("designing", 150, 0.01)
    after = scrape(client)
    assert after[gate] == before.get(gate, 0) + 1
    tokens = ("agent_tokens_total", (("phase", "designing"),))
    assert after[tokens] == before.get(tokens, 0) + 150
    spend = ("agent_budget_spend_usd_total", ())
    assert after[spend] == pytest.approx(before.get(spend, 0) + 0.01)


def test_metrics_need_the_token_when_one_is_set(settings, services: Services) -> None:  # type: ignore[no-untyped-def]
    from ktrdr.api import create_app

    guarded = settings.model_copy(update={"api_token": "s3cret"})
    with TestClient(create_app(guarded, services=services), base_url=LOOPBACK) as client:
        assert client.get("/metrics").status_code == 401
        ok = client.get("/metrics", headers={"Authorization": "Bearer s3cret"})
        assert ok.status_code == 200 and "ktrdr_operations_active" in ok.text


@pytest.fixture
def spans(monkeypatch: pytest.MonkeyPatch) -> InMemorySpanExporter:
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    monkeypatch.setattr(observability, "tracer", lambda: provider.get_tracer("test"))
    return exporter


def sample(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


@pytest.mark.parametrize("counted", ["completed", "gate_failed", "failed", "cancelled"])
def test_a_cycle_counts_its_outcome_and_phase_durations_with_spans(
    spans: InMemorySpanExporter, counted: str
) -> None:
    op_id = "op_agent_research_20250101_120000_0000abcd"
    cycles = sample("agent_cycles_total", outcome=counted)
    training = sample("agent_phase_duration_seconds_count", phase="training")
    slow = sample("agent_phase_duration_seconds_bucket", phase="training", le="30.0")
    started = utc_now() - timedelta(seconds=42)

    observability.start_cycle(op_id)
    observability.phase_finished(op_id, "idle", None)  # nothing ran before the design
    observability.finish_cycle(op_id, counted, "training", started)

    assert sample("agent_cycles_total", outcome=counted) == cycles + 1
    assert sample("agent_phase_duration_seconds_count", phase="training") == training + 1
    assert sample("agent_phase_duration_seconds_bucket", phase="training", le="30.0") == slow
    phase_span, cycle_span = spans.get_finished_spans()
    assert cycle_span.name == "research_cycle"
    assert cycle_span.attributes["ktrdr.operation_id"] == op_id
    assert cycle_span.attributes["ktrdr.outcome"] == counted
    assert phase_span.name == "research_phase.training"
    assert phase_span.parent.span_id == cycle_span.context.span_id
    assert (phase_span.end_time - phase_span.start_time) / 1e9 == pytest.approx(42, abs=2)


def test_stopping_a_cycle_with_the_server_counts_no_outcome(spans: InMemorySpanExporter) -> None:
    op_id = "op_agent_research_20250101_120000_0000dcba"
    before = {o: sample("agent_cycles_total", outcome=o) for o in ("completed", "failed")}
    observability.start_cycle(op_id)
    observability.stop_cycle(op_id)
    assert {o: sample("agent_cycles_total", outcome=o) for o in before} == before
    (span,) = spans.get_finished_spans()
    assert span.attributes["ktrdr.outcome"] == "interrupted"


def test_tracing_is_a_no_op_without_the_endpoint(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(observability.OTLP_ENDPOINT_ENV, raising=False)
    monkeypatch.setattr(observability, "_tracing", {"configured": False, "exporting": False})
    assert observability.configure_tracing() is False
    assert not observability.tracer().start_span("x").is_recording()


def test_tracing_exports_over_otlp_when_the_endpoint_is_set() -> None:
    code = (
        "from ktrdr import observability as o\n"
        "assert o.tracer().start_span('x').is_recording()\n"
        "assert o.configure_tracing() is True\n"
    )
    env = {"OTEL_EXPORTER_OTLP_ENDPOINT": "http://127.0.0.1:9", "PATH": "/usr/bin:/bin"}
    done = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr


def test_log_records_about_an_operation_carry_its_id(caplog: pytest.LogCaptureFixture) -> None:
    install_log_record_factory()
    op_id = "op_training_20250101_120000_0badf00d"
    with caplog.at_level(logging.INFO, logger="ktrdr.test"):
        logging.getLogger("ktrdr.test").info("operation %s started", op_id)
        logging.getLogger("ktrdr.test").info("nothing about an operation: %s", "op_x")
    about, unrelated = caplog.records
    assert about.operation_id == op_id
    assert not hasattr(unrelated, "operation_id")
    assert f'"operation_id": "{op_id}"' in JsonFormatter().format(about)
