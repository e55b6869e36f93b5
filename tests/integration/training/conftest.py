"""A real training stack: SQLite store, LocalExecutor with spawned workers, bundled data."""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from support.eventually import terminal

from ktrdr.data import DataRepository, DataWindows
from ktrdr.execution import LocalExecutor
from ktrdr.operations import Operation, OperationsService, OperationsStore
from ktrdr.settings import Settings
from ktrdr.strategy import StrategyCatalog, load_strategy, strategy_to_dict
from ktrdr.training.service import TrainingService

EXAMPLES = Path(__file__).resolve().parents[3] / "examples" / "strategies"


@dataclass
class TrainingStack:
    """The services a test drives, and where they keep their files."""

    home: Path
    operations: OperationsService
    executor: LocalExecutor
    training: TrainingService

    def finished(self, operation_id: str, timeout: float = 120.0) -> Operation:
        """The operation once it is terminal."""
        return terminal(self.operations, operation_id, timeout)


def quick_strategy(evaluation: dict[str, Any] | None = None, **training: Any) -> dict[str, Any]:
    """The EURUSD example with a small model and few epochs, as a dict.

    ``evaluation`` replaces the default walk-forward section (e.g. ``{"folds": 0}`` for the
    single train/validation/test split with one seed).
    """
    data = strategy_to_dict(load_strategy(EXAMPLES / "eurusd_rsi_macd_mlp.yaml"))
    data["model"]["architecture"]["hidden_layers"] = [8]
    data["training"].update({"epochs": 3, "early_stopping": {"patience": 3}, **training})
    if evaluation is not None:
        data["evaluation"] = evaluation
    return data


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TrainingStack]:
    """One pool of two workers shared by the module's tests."""
    home = tmp_path_factory.mktemp("training_home")
    previous = os.environ.get("KTRDR_HOME")
    os.environ["KTRDR_HOME"] = str(home)
    settings = Settings(home=home)
    operations = OperationsService(
        OperationsStore.from_url(settings.resolved_database_url), progress_min_interval=0.1
    )
    executor = LocalExecutor(
        operations,
        workers=2,
        database_url=settings.resolved_database_url,
        home=home,
        grace_seconds=1.0,
        preload=("torch",),
    )
    data = DataRepository(settings.path("data"))
    training = TrainingService(
        operations,
        executor,
        settings=settings,
        data=data,
        strategies=StrategyCatalog(settings.path("strategies"), [EXAMPLES]),
        windows=DataWindows(
            operations.store.engine, data, holdout_fraction=settings.holdout_fraction
        ),
    )
    yield TrainingStack(home, operations, executor, training)
    executor.shutdown()
    if previous is None:
        os.environ.pop("KTRDR_HOME", None)
    else:
        os.environ["KTRDR_HOME"] = previous
