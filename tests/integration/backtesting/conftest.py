"""A real backtest stack: SQLite store, two spawned workers, a tiny EURUSD model trained once."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from support.eventually import terminal

from ktrdr.backtesting.service import BacktestingService
from ktrdr.data import DataRepository, DataWindows
from ktrdr.execution import LocalExecutor
from ktrdr.operations import Operation, OperationsService, OperationsStore, OperationStatus
from ktrdr.settings import Settings
from ktrdr.strategy import StrategyCatalog, load_strategy, strategy_to_dict
from ktrdr.training.service import TrainingService

EXAMPLES = Path(__file__).resolve().parents[3] / "examples" / "strategies"
MODEL_NAME = "bt_eurusd_mlp"
TRAINING_END = "2017-10-31"  # leaves Nov 2017 .. the holdout of the bundled EURUSD 1h for backtests
# The sealed holdout of the bundled EURUSD 1h: its last 20 % of 5,000 bars.
HOLDOUT_START = "2017-12-08T00:00:00+00:00"


@dataclass
class BacktestStack:
    """The services a test drives, where they keep their files, and the model trained once."""

    home: Path
    operations: OperationsService
    executor: LocalExecutor
    data: DataRepository
    windows: DataWindows
    training: TrainingService
    backtesting: BacktestingService
    model_path: Path

    def finished(self, operation_id: str, timeout: float = 60.0) -> Operation:
        """The operation once it is terminal."""
        return terminal(self.operations, operation_id, timeout)

    def service(self, **options: Any) -> BacktestingService:
        """Another BacktestingService on the same store and pool, e.g. ``chunk_rows=2``."""
        return BacktestingService(
            self.operations,
            self.executor,
            settings=self.backtesting.settings,
            data=self.data,
            windows=self.windows,
            **options,
        )


def tiny_strategy() -> dict[str, Any]:
    """The EURUSD example, small and quick, trained to 2017-10-31."""
    data = strategy_to_dict(load_strategy(EXAMPLES / "eurusd_rsi_macd_mlp.yaml"))
    data["name"] = MODEL_NAME
    data["model"]["architecture"]["hidden_layers"] = [8]
    data["training_data"]["date_range"] = {"start": "2017-04-19", "end": TRAINING_END}
    data["training"].update({"epochs": 2, "early_stopping": {"patience": 2}})
    data["evaluation"] = {"folds": 0}  # one split: the range and holdout tests need no folds
    return data


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[BacktestStack]:
    """One pool of two workers (1 s cancel grace) and a model trained on it."""
    home = tmp_path_factory.mktemp("backtest_home")
    settings = Settings(home=home, database_url=None)
    store = OperationsStore.from_url(settings.resolved_database_url)
    operations = OperationsService(store, progress_min_interval=0.1)
    executor = LocalExecutor(
        operations,
        workers=2,
        database_url=settings.resolved_database_url,
        home=home,
        grace_seconds=1.0,
        preload=("torch",),
    )
    data = DataRepository(settings.path("data"))
    windows = DataWindows(store.engine, data, holdout_fraction=settings.holdout_fraction)
    training = TrainingService(
        operations,
        executor,
        settings=settings,
        data=data,
        strategies=StrategyCatalog(settings.path("strategies"), [EXAMPLES]),
        windows=windows,
    )
    trained_id = training.start_training(training.resolve_strategy(tiny_strategy()), seed=3)[
        "operation_id"
    ]
    trained = terminal(operations, trained_id, timeout=120)
    assert trained.status is OperationStatus.COMPLETED, trained.error_message
    backtesting = BacktestingService(
        operations, executor, settings=settings, data=data, windows=windows
    )
    yield BacktestStack(
        home,
        operations,
        executor,
        data,
        windows,
        training,
        backtesting,
        Path(trained.result_summary["model_path"]),
    )
    executor.shutdown()
    store.dispose()
