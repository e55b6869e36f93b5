"""TrainingService: check a training request up front, then run it as a ``training`` operation."""

from __future__ import annotations

import logging
from pathlib import Path, PurePosixPath
from typing import Any

import pandas as pd
import pydantic

from ktrdr.data import DataRepository, DataWindows, parse_timeframe
from ktrdr.data.repository import to_utc
from ktrdr.errors import DataError, StrategyValidationError, ValidationError
from ktrdr.execution import Executor, JobSpec, ResourceNeeds
from ktrdr.features.walk_forward import MIN_FOLD_SAMPLES
from ktrdr.operations import OperationsService, OperationStatus, OperationType
from ktrdr.settings import Settings
from ktrdr.strategy import StrategyCatalog, strategy_to_dict, validate_strategy
from ktrdr.strategy.indicator_specs import warmup_bars
from ktrdr.strategy.schema import StrategyConfig, TrainingData
from ktrdr.strategy.validator import reference_issues
from ktrdr.training.inputs import JOB_PATH, BarsBySymbol, load_bars
from ktrdr.training.manifest import discard_incomplete_version, next_version_dir

logger = logging.getLogger(__name__)

StrategyRef = str | Path | StrategyConfig | dict[str, Any]


class TrainingService:
    """Start trainings: checks everything it can before creating the operation."""

    def __init__(
        self,
        operations: OperationsService,
        executor: Executor,
        *,
        settings: Settings,
        data: DataRepository,
        strategies: StrategyCatalog,
        windows: DataWindows,
    ) -> None:
        self.operations = operations
        self.executor = executor
        self.settings = settings
        self.data = data
        self.strategies = strategies
        self.windows = windows
        executor.events.subscribe(self.release_reservation)

    def resolve_strategy(self, strategy: StrategyRef) -> StrategyConfig:
        """A validated strategy from a config, a dict, a catalog name or a YAML path."""
        if isinstance(strategy, StrategyConfig):
            return strategy
        if isinstance(strategy, dict):
            return validate_strategy(strategy, source="request")
        config, _path = self.strategies.resolve(strategy)
        return config

    def start_training(
        self,
        strategy: StrategyConfig,
        *,
        parent_operation_id: str | None = None,
        symbols: list[str] | None = None,
        timeframes: list[str] | None = None,
        start_date: str | None = None,
        end_date: str | None = None,
        seed: int | None = None,
    ) -> dict[str, Any]:
        """Create the ``training`` operation and submit its job; ``{"operation_id", "success"}``.

        ``strategy`` is already validated (``resolve_strategy`` turns a name, path or dict into
        one); ``symbols``/``timeframes`` other than its own are checked alone, not the whole
        strategy again. An invalid request raises (``ValidationError``, ``NotFoundError``,
        ``DataError``) and creates no operation. Each timeframe's bars are loaded once; the job
        gets them, the validated strategy and a bundle folder reserved here
        (``models/<name>/v<N>``, empty until the job's bundle is written into it), so it runs
        the same on a local worker or a remote Ray node.
        """
        config = with_overrides(strategy, symbols, timeframes)
        date_range = config.training_data.date_range
        start = start_date or (str(date_range.start) if date_range else None)
        end = end_date or (str(date_range.end) if date_range else None)
        holdout_start = self.windows.holdout_start(config.symbols(), config.timeframes())
        _check_before_holdout(config, start, holdout_start)
        request: dict[str, Any] = {
            "strategy": config,
            "symbols": config.symbols(),
            "timeframes": config.timeframes(),
            "start_date": start,
            "end_date": end,
            "seed": seed if seed is not None else (config.model.seed or self.settings.agent_seed),
        }
        request["bars"] = research_bars(load_bars(self.data, request), holdout_start)
        _check_enough_bars(config, request["bars"], start, end)
        first, last = _base_range(config, request["bars"])
        request["start_date"], request["end_date"] = first.isoformat(), last.isoformat()
        resources = ResourceNeeds(cpus=1.0, gpus=max(self.settings.training_gpus, _gpus(config)))
        model_dir = next_version_dir(self.settings.path("models"), config.name)
        request["model_dir"] = model_dir.relative_to(self.settings.home).as_posix()
        try:
            operation = self.operations.create(
                OperationType.TRAINING,
                parent_operation_id=parent_operation_id,
                metadata={
                    "symbol": ",".join(config.symbols()),
                    "timeframe": config.base_timeframe(),
                    "start_date": request["start_date"],
                    "end_date": request["end_date"],
                    "parameters": {
                        "strategy_name": config.name,
                        "timeframes": config.timeframes(),
                        "model_dir": request["model_dir"],
                        "requested_range": {"start": start, "end": end},
                        "holdout_start": holdout_start.isoformat(),
                    },
                },
            )
        except BaseException:
            discard_incomplete_version(model_dir)
            raise
        self.executor.submit(
            JobSpec(
                operation_id=operation.operation_id,
                job=JOB_PATH,
                request=request,
                resources=resources,
            )
        )
        logger.info("training %s of %s submitted", operation.operation_id, config.name)
        return {"operation_id": operation.operation_id, "success": True}

    def release_reservation(self, operation_id: str) -> None:
        """Remove the ``models/<name>/v<N>`` folder of a training that ended without a bundle.

        Called for every job that ends (``executor.events``) and, at start-up, for the trainings
        failed as lost with the previous server. A completed training, or one whose folder holds
        a bundle.json, keeps its folder.
        """
        operation = self.operations.get(operation_id)
        if operation.operation_type != OperationType.TRAINING:
            return
        if operation.status in (
            OperationStatus.PENDING,
            OperationStatus.RUNNING,
            OperationStatus.COMPLETED,
        ):
            return
        model_dir = operation.metadata.parameters.get("model_dir")
        parts = PurePosixPath(model_dir).parts if isinstance(model_dir, str) else ()
        if len(parts) != 3 or parts[0] != "models" or ".." in parts:
            return  # not a folder this service reserved (e.g. a training from an older version)
        if discard_incomplete_version(self.settings.home / model_dir):
            logger.info(
                "operation %s: %s; removed its empty model folder %s",
                operation_id,
                operation.status.value,
                model_dir,
            )


def research_bars(bars: BarsBySymbol, holdout_start: pd.Timestamp) -> BarsBySymbol:
    """Only the bars that closed before ``holdout_start``: nothing of the holdout trains a model.

    A bar closes one timeframe after it opens, so a 4h bar opened 2h before the holdout start
    (it closes inside the holdout) is dropped too.
    """
    return {
        symbol: {
            timeframe: frame[frame.index + parse_timeframe(timeframe) <= holdout_start]
            for timeframe, frame in by_timeframe.items()
        }
        for symbol, by_timeframe in bars.items()
    }


def _check_before_holdout(
    config: StrategyConfig, start: str | None, holdout_start: pd.Timestamp
) -> None:
    """Refuse a training range that starts inside the sealed holdout (DESIGN §11)."""
    if start is not None and to_utc(start, "start_date") >= holdout_start:
        raise ValidationError(
            f"training range of {config.name} starts {start}, inside the sealed holdout of "
            f"{', '.join(config.symbols())} {config.base_timeframe()} (it starts "
            f"{holdout_start.isoformat()}); training uses the research window before it",
            details={"start_date": start, "holdout_start": holdout_start.isoformat()},
        )


def _base_range(config: StrategyConfig, bars: BarsBySymbol) -> tuple[pd.Timestamp, pd.Timestamp]:
    """The first and last base bar the training gets, over every symbol."""
    base = config.base_timeframe()
    frames = [by_timeframe[base] for by_timeframe in bars.values()]
    return min(frame.index[0] for frame in frames), max(frame.index[-1] for frame in frames)


def _check_enough_bars(
    config: StrategyConfig, bars: BarsBySymbol, start: str | None, end: str | None
) -> None:
    """Refuse a range too short for the warm-up plus the minimum samples of every split."""
    warmup = max(warmup_bars(i.type, i.params) for i in config.indicators.values())
    needed = warmup + config.model.lookback + sum(MIN_FOLD_SAMPLES.values())
    base = config.base_timeframe()
    for symbol, by_timeframe in bars.items():
        if len(by_timeframe[base]) < needed:
            raise DataError(
                f"{symbol} {base} {start or 'start'}..{end or 'end'} has "
                f"{len(by_timeframe[base])} bars; training {config.name} needs at least {needed} "
                f"({warmup} warm-up + {sum(MIN_FOLD_SAMPLES.values())} samples)"
            )


def _gpus(config: StrategyConfig) -> float:
    """GPUs the strategy asks for in ``deployment: {training_gpus: 1}``; 0 when it does not."""
    deployment = config.deployment if isinstance(config.deployment, dict) else {}
    value = deployment.get("training_gpus", 0.0)
    if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
        raise ValidationError(
            f"strategy {config.name}: deployment.training_gpus must be a number >= 0 "
            f"(GPUs per training, e.g. 1 or 0.5), got {value!r}"
        )
    return float(value)


def with_overrides(
    config: StrategyConfig, symbols: list[str] | None, timeframes: list[str] | None
) -> StrategyConfig:
    """The strategy with other symbols or timeframes; only what they touch is checked again.

    The orchestrator passes none (or the strategy's own), which costs nothing. Otherwise the
    ``training_data`` section is validated with the new selection and, for new timeframes, the
    sections that name timeframes (``nn_inputs``) are checked against them.
    """
    same_symbols = not symbols or list(symbols) == config.symbols()
    same_timeframes = not timeframes or list(timeframes) == config.timeframes()
    if same_symbols and same_timeframes:
        return config
    section = config.training_data.model_dump(by_alias=True, exclude_none=True, mode="json")
    if not same_symbols:
        section["symbols"] = (
            {"mode": "single", "symbol": symbols[0]}
            if len(symbols) == 1
            else {"mode": "multi_symbol", "list": list(symbols)}
        )
    if not same_timeframes:
        section["timeframes"] = (
            {"mode": "single", "timeframe": timeframes[0]}
            if len(timeframes) == 1
            else {
                "mode": "multi_timeframe",
                "list": list(timeframes),
                "base_timeframe": timeframes[0],
            }
        )
    data = strategy_to_dict(config)
    data["training_data"] = section
    try:
        training_data = TrainingData.model_validate(section)
    except pydantic.ValidationError:
        validate_strategy(data, source="training request")  # raises, naming every issue
        raise
    if not same_timeframes:
        issues = reference_issues(data)
        if issues:
            raise StrategyValidationError(issues, source="training request")
    return config.model_copy(update={"training_data": training_data})
