"""GET /metrics: Prometheus metrics of this process plus the operations counted in the store.

Jobs run in worker processes whose counters this process cannot see, so the operation metrics
are computed from the store (one GROUP BY per family) at scrape time: always right, on any host.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from fastapi import APIRouter
from fastapi.responses import Response
from prometheus_client import REGISTRY, CollectorRegistry, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, HistogramMetricFamily
from prometheus_client.exposition import CONTENT_TYPE_LATEST
from prometheus_client.registry import Collector
from prometheus_client.utils import floatToGoString
from sqlalchemy import Engine, and_, case, func, literal_column, select
from sqlalchemy.sql.elements import ColumnElement

from ktrdr import observability  # noqa: F401  (defines the agent_* metrics in REGISTRY)
from ktrdr.api.deps import ServicesDep
from ktrdr.operations import ACTIVE_STATUSES, TERMINAL_STATUSES
from ktrdr.operations.database import read_connection
from ktrdr.operations.schema import operations as table

router = APIRouter(tags=["metrics"])

JOB_BUCKETS = (1.0, 5.0, 15.0, 30.0, 60.0, 120.0, 300.0, 600.0, 1800.0, 3600.0, 7200.0)


@router.get("/metrics", include_in_schema=False)
def metrics(services: ServicesDep) -> Response:
    """Prometheus text exposition: agent_* of this process, ktrdr_operations_* from the store."""
    store_registry = CollectorRegistry(auto_describe=False)
    store_registry.register(OperationsCollector(services.operations.store.engine))
    body = generate_latest(REGISTRY) + generate_latest(store_registry)
    return Response(body, media_type=CONTENT_TYPE_LATEST)


class OperationsCollector(Collector):
    """ktrdr_operations_total, ktrdr_operations_active, ktrdr_job_duration_seconds per type."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def collect(self) -> Iterator[Any]:
        """Read the store and yield the three metric families."""
        total = CounterMetricFamily(
            "ktrdr_operations",
            "Operations that ended, by type and terminal status (completed, failed, cancelled).",
            labels=["type", "status"],
        )
        active = GaugeMetricFamily(
            "ktrdr_operations_active",
            "Operations pending or running now, by type.",
            labels=["type"],
        )
        with read_connection(self.engine) as conn:
            counts = conn.execute(
                select(table.c.operation_type, table.c.status, func.count()).group_by(
                    table.c.operation_type, table.c.status
                )
            ).all()
            durations = conn.execute(self._duration_query()).all()
        active_by_type: dict[str, int] = {}
        terminal = {s.value for s in TERMINAL_STATUSES}
        pending_or_running = {s.value for s in ACTIVE_STATUSES}
        for kind, status, count in counts:
            if status in terminal:
                total.add_metric([kind, status], count)
            elif status in pending_or_running:
                active_by_type[kind] = active_by_type.get(kind, 0) + count
        for kind, count in sorted(active_by_type.items()):
            active.add_metric([kind], count)
        yield total
        yield active
        yield self._job_durations(durations)

    def _duration_query(self) -> Any:
        seconds = _seconds_between(self.engine, table.c.started_at, table.c.completed_at)
        buckets = [func.sum(case((seconds <= bound, 1), else_=0)) for bound in JOB_BUCKETS]
        return (
            select(table.c.operation_type, func.count(), func.sum(seconds), *buckets)
            .where(
                and_(
                    table.c.status.in_([s.value for s in TERMINAL_STATUSES]),
                    table.c.started_at.is_not(None),
                    table.c.completed_at.is_not(None),
                )
            )
            .group_by(table.c.operation_type)
        )

    @staticmethod
    def _job_durations(rows: list[Any]) -> HistogramMetricFamily:
        family = HistogramMetricFamily(
            "ktrdr_job_duration_seconds",
            "Seconds from start to end of operations that ended, by type.",
            labels=["type"],
        )
        for kind, count, total_seconds, *cumulative in rows:
            pairs = zip(JOB_BUCKETS, cumulative, strict=True)
            buckets = [(floatToGoString(bound), int(n or 0)) for bound, n in pairs]
            buckets.append(("+Inf", int(count)))
            family.add_metric([kind], buckets, sum_value=float(total_seconds or 0.0))
        return family


def _seconds_between(engine: Engine, start: Any, end: Any) -> ColumnElement[float]:
    if engine.dialect.name == "sqlite":
        return (func.julianday(end) - func.julianday(start)) * literal_column("86400.0")
    return func.extract("epoch", end - start)
