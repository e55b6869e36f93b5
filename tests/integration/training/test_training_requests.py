"""What TrainingService sends to the executor: bars, a reserved bundle folder, GPU requests."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from integration.training.conftest import quick_strategy

from ktrdr.data import DataRepository, DataWindows
from ktrdr.errors import ValidationError
from ktrdr.execution import JobSpec
from ktrdr.execution.events import JobEvents
from ktrdr.operations import OperationsService, OperationsStore
from ktrdr.settings import Settings
from ktrdr.strategy import StrategyCatalog
from ktrdr.training.service import TrainingService, research_bars


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
    data = DataRepository(config.path("data"))
    training = TrainingService(
        operations,
        executor,  # type: ignore[arg-type]
        settings=config,
        data=data,
        strategies=StrategyCatalog(config.path("strategies")),
        windows=DataWindows(
            operations.store.engine, data, holdout_fraction=config.holdout_fraction
        ),
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


EURUSD_HOLDOUT_START = pd.Timestamp("2017-12-08T00:00:00Z")  # last 20 % of 5,000 bars


def test_training_without_a_date_range_gets_the_research_window_only(ktrdr_home: Path) -> None:
    training, executor = service(ktrdr_home)
    strategy = quick_strategy()
    assert "date_range" not in strategy["training_data"]  # the example leaves it to the system
    started = training.start_training(training.resolve_strategy(strategy))

    bars = executor.specs[0].request["bars"]["EURUSD"]["1h"]
    assert bars.index[-1] == EURUSD_HOLDOUT_START - pd.Timedelta(hours=1)
    operation = training.operations.get(started["operation_id"])
    assert operation.metadata.start_date == bars.index[0].isoformat()
    assert operation.metadata.end_date == bars.index[-1].isoformat()
    assert operation.metadata.parameters["requested_range"] == {"start": None, "end": None}
    assert operation.metadata.parameters["holdout_start"] == EURUSD_HOLDOUT_START.isoformat()


def test_a_range_reaching_into_the_holdout_is_clipped_to_the_research_window(
    ktrdr_home: Path,
) -> None:
    training, executor = service(ktrdr_home)
    started = training.start_training(
        training.resolve_strategy(quick_strategy()), start_date="2017-06-01", end_date="2018-02-01"
    )

    bars = executor.specs[0].request["bars"]["EURUSD"]["1h"]
    assert bars.index[0] == pd.Timestamp("2017-06-01T00:00:00Z")
    assert bars.index[-1] < EURUSD_HOLDOUT_START
    metadata = training.operations.get(started["operation_id"]).metadata
    assert metadata.end_date == bars.index[-1].isoformat()
    assert metadata.parameters["requested_range"] == {"start": "2017-06-01", "end": "2018-02-01"}


def test_a_range_starting_in_the_holdout_is_refused_naming_the_holdout_start(
    ktrdr_home: Path,
) -> None:
    training, executor = service(ktrdr_home)
    with pytest.raises(ValidationError) as caught:
        training.start_training(
            training.resolve_strategy(quick_strategy()), start_date="2018-01-01"
        )
    assert "inside the sealed holdout" in caught.value.message
    assert EURUSD_HOLDOUT_START.isoformat() in caught.value.message
    assert executor.specs == []
    assert training.operations.list(operation_type="training").total_count == 0


def test_a_higher_timeframe_bar_closing_inside_the_holdout_is_dropped() -> None:
    index = pd.date_range("2018-01-01", periods=4, freq="4h", tz="UTC")
    frame = pd.DataFrame({"close": [1.0, 2.0, 3.0, 4.0]}, index=index)
    kept = research_bars({"X": {"4h": frame}}, pd.Timestamp("2018-01-01T10:00Z"))
    # The 08:00 bar closes at 12:00, inside a holdout from 10:00.
    assert list(kept["X"]["4h"].index) == list(index[:2])
