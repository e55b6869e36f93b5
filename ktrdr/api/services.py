"""The services the routers call, built once per app from the settings."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from ktrdr.agents.cycle.events import CycleFinished
from ktrdr.agents.research_worker import AgentResearchWorker
from ktrdr.agents.service import AgentService
from ktrdr.agents.workers import AssessmentWorker, DesignWorker
from ktrdr.backtesting.service import BacktestingService
from ktrdr.data import DataRepository, DataWindows
from ktrdr.data.fetch_service import DataFetchService
from ktrdr.evaluation.holdout import HoldoutService
from ktrdr.evaluation.trial_statistics import ResearchStatistics
from ktrdr.evaluation.trials import TrialLedger
from ktrdr.execution import Executor, create_executor, fail_orphaned_jobs
from ktrdr.execution.factory import check_store_for_executor
from ktrdr.operations import OperationsService, OperationsStore, OperationType
from ktrdr.reports.build import ReportBuilder
from ktrdr.reports.writer import ReportWriter
from ktrdr.settings import Settings
from ktrdr.strategy import StrategyCatalog
from ktrdr.training.service import TrainingService

logger = logging.getLogger(__name__)

EXAMPLES_DIR = Path(__file__).resolve().parents[2] / "examples" / "strategies"
JOB_TYPES = (
    OperationType.TRAINING,
    OperationType.BACKTESTING,
    OperationType.AGENT_DESIGN,
    OperationType.AGENT_ASSESSMENT,
    OperationType.DATA_FETCH,
)


@dataclass
class Services:
    """The long-lived services of one API process; add a service as one more field."""

    settings: Settings
    operations: OperationsService
    data: DataRepository
    strategies: StrategyCatalog
    fetch: DataFetchService
    windows: DataWindows
    trials: TrialLedger
    reports: ReportBuilder
    executor: Executor | None = None
    training: TrainingService | None = None
    backtesting: BacktestingService | None = None
    holdout: HoldoutService | None = None
    agent: AgentService | None = None
    report_writer: ReportWriter | None = None

    def close(self) -> None:
        """Stop the research loops and the workers, finish queued reports, then release the
        store's connections."""
        if self.agent is not None:
            self.agent.close()
        if self.executor is not None:
            self.executor.shutdown(wait=False)
        if self.report_writer is not None:
            self.report_writer.close()
        self.operations.store.dispose()


def strategy_catalog(settings: Settings) -> StrategyCatalog:
    """User strategies in ``KTRDR_HOME/strategies``, then the examples of a source checkout."""
    extra = [EXAMPLES_DIR] if EXAMPLES_DIR.is_dir() else []
    return StrategyCatalog(settings.path("strategies"), extra)


def build_services(settings: Settings, *, with_executor: bool = True) -> Services:
    """Open the store, settle jobs lost with a previous server, start the worker pool.

    A Ray cluster with a SQLite store is refused here, before anything starts.
    """
    if with_executor:
        check_store_for_executor(settings)
    settings.home.mkdir(parents=True, exist_ok=True)
    store = OperationsStore.from_url(settings.resolved_database_url)
    operations = OperationsService(store, progress_min_interval=settings.progress_min_interval)
    data = DataRepository(settings.path("data"))
    windows = DataWindows(store.engine, data, holdout_fraction=settings.holdout_fraction)
    services = Services(
        settings=settings,
        operations=operations,
        data=data,
        strategies=strategy_catalog(settings),
        fetch=DataFetchService(operations, data),
        windows=windows,
        trials=TrialLedger(operations, windows),
        reports=ReportBuilder(operations, data, settings.home),
    )
    if not with_executor:
        return services
    lost = fail_orphaned_jobs(operations, JOB_TYPES)
    if lost:
        logger.warning("marked %d jobs lost with the previous server as failed", len(lost))
    services.trials.record_missing()  # backtests that completed as the last server stopped
    services.executor = create_executor(settings, operations)
    services.executor.events.subscribe(services.trials.on_job_ended)
    # Reports are written at job end beside the artifacts, off the executor's thread.
    services.report_writer = ReportWriter(services.reports)
    services.executor.events.subscribe(services.report_writer.operation_ended)
    services.training = TrainingService(
        operations,
        services.executor,
        settings=settings,
        data=services.data,
        strategies=services.strategies,
        windows=services.windows,
    )
    for operation_id in lost:
        services.training.release_reservation(operation_id)
    services.backtesting = BacktestingService(
        operations,
        services.executor,
        settings=settings,
        data=services.data,
        windows=services.windows,
    )
    services.holdout = HoldoutService(operations, services.backtesting, services.windows)
    services.agent = _agent_service(services, services.executor)
    services.agent.resume_active()
    return services


def _agent_service(services: Services, executor: Executor) -> AgentService:
    operations = services.operations
    worker = AgentResearchWorker(
        operations,
        DesignWorker(operations, executor),
        AssessmentWorker(operations, executor),
        services.training,
        services.backtesting,
        services.holdout,
        settings=services.settings,
        job_events=executor.events,
        statistics=ResearchStatistics(services.trials),
    )
    if services.report_writer is not None:
        worker.events.subscribe(_cycle_reports(services.report_writer))
    return AgentService(
        operations, worker, settings=services.settings, strategies=services.strategies
    )


def _cycle_reports(writer: ReportWriter) -> Callable[[object], None]:
    """A cycle-event subscriber that queues the report of every cycle that ends."""

    def on_event(event: object) -> None:
        if isinstance(event, CycleFinished):
            writer.operation_ended(event.operation_id)

    return on_event
