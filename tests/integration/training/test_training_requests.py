"""What TrainingService sends to the executor: bars, a reserved bundle folder, GPU requests."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from integration.training.conftest import quick_strategy

from ktrdr.data import DataRepository
from ktrdr.errors import ValidationError
from ktrdr.execution import JobSpec
from ktrdr.execution.events import JobEvents
from ktrdr.operations import OperationsService, OperationsStore
from ktrdr.settings import Settings
from ktrdr.strategy import StrategyCatalog
from ktrdr.training.service import TrainingService


class RecordingExecutor:
    """Keeps the submitted specs instead of running them."""

    def __init__(self) -> None:
        self.specs: list[JobSpec] = []
        self.events = JobEvents()

    def submit(self, spec: JobSpec) -> None:
        self.specs.append(spec)


def service(home: Path, **settings: Any) -> tuple[TrainingService, RecordingExecutor]:
    config = Settings(home=home, **settings)
    operations = OperationsService(OperationsStore.from_url(config.resolved_database_url))
    executor = RecordingExecutor()
    training = TrainingService(
        operations,
        executor,  # type: ignore[arg-type]
        settings=config,
        data=DataRepository(config.path("data")),
        strategies=StrategyCatalog(config.path("strategies")),
    )
    return training, executor


def test_the_request_carries_the_bars_and_a_reserved_bundle_folder(ktrdr_home: Path) -> None:
    training, executor = service(ktrdr_home)
    year = {"start_date": "2017-01-01", "end_date": "2017-12-31"}
    first = training.start_training(training.resolve_strategy(quick_strategy()), **year)
    training.start_training(training.resolve_strategy(quick_strategy()), **year)

    spec = executor.specs[0]
    assert spec.operation_id == first["operation_id"]
    bars = spec.request["bars"]["EURUSD"]["1h"]
    assert list(bars.columns) == ["open", "high", "low", "close", "volume"]
    assert bars.index[0].year == 2017 and bars.index[-1].year == 2017
    assert [s.request["model_dir"] for s in executor.specs] == [
        "models/eurusd_rsi_macd_mlp/v1",
        "models/eurusd_rsi_macd_mlp/v2",
    ]
    assert (ktrdr_home / "models/eurusd_rsi_macd_mlp/v1").is_dir()
    assert spec.resources.gpus == 0.0


@pytest.mark.parametrize(
    ("setting", "deployment", "gpus"),
    [(1.0, None, 1.0), (0.0, {"training_gpus": 0.5}, 0.5), (1.0, {"training_gpus": 2}, 2.0)],
)
def test_gpus_come_from_the_setting_or_the_strategy(
    ktrdr_home: Path, setting: float, deployment: dict | None, gpus: float
) -> None:
    training, executor = service(ktrdr_home, training_gpus=setting)
    training.start_training(
        training.resolve_strategy({**quick_strategy(), "deployment": deployment})
    )
    assert executor.specs[0].resources.gpus == gpus


def test_a_bad_gpu_request_is_refused_before_any_operation(ktrdr_home: Path) -> None:
    training, executor = service(ktrdr_home)
    with pytest.raises(ValidationError, match=r"deployment\.training_gpus must be a number >= 0"):
        training.start_training(
            training.resolve_strategy({**quick_strategy(), "deployment": {"training_gpus": "one"}})
        )
    assert executor.specs == []
    assert training.operations.list(operation_type="training").total_count == 0
    assert not (ktrdr_home / "models").exists()
