"""BacktestingService: check a backtest request up front, then run it as an operation."""

from __future__ import annotations

import datetime as dt
import logging
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd
import pydantic

from ktrdr.backtesting.inputs import (
    DEFAULT_CHUNK_ROWS,
    JOB_PATH,
    MIN_BACKTEST_BARS,
    backtest_bars,
    bundle_files,
    warmup_rows,
)
from ktrdr.data import (
    DataRepository,
    canonical_symbol,
    canonical_timeframe,
    parse_timeframe,
    slice_bars,
)
from ktrdr.errors import DataError, NotFoundError, ValidationError
from ktrdr.execution import Executor, JobSpec, ResourceNeeds
from ktrdr.home_paths import places_inside
from ktrdr.operations import OperationsService, OperationType
from ktrdr.settings import Settings
from ktrdr.strategy import Costs, DateRange, StrategyConfig, validate_strategy
from ktrdr.training.manifest import (
    MANIFEST_FILE,
    WEIGHTS_FILE,
    check_weights_digest,
    read_manifest,
)

logger = logging.getLogger(__name__)

VERSION_DIR = re.compile(r"^v([1-9][0-9]*)$")
DateLike = str | dt.date | dt.datetime | pd.Timestamp


@dataclass(frozen=True)
class TrainedModel:
    """What a backtest request needs of a bundle, read from bundle.json without torch."""

    path: Path
    metadata: dict[str, Any]
    strategy: StrategyConfig

    @classmethod
    def read(cls, path: Path) -> TrainedModel:
        """The checked bundle.json of bundle folder ``path``; the weights' digest checked too."""
        manifest = read_manifest(path / MANIFEST_FILE)
        check_weights_digest(path / WEIGHTS_FILE, manifest["weights_sha256"])
        strategy = validate_strategy(manifest["strategy"], source=f"{path}/{MANIFEST_FILE}")
        return cls(path=path, metadata=manifest, strategy=strategy)

    @property
    def symbols(self) -> list[str]:
        """The symbols the model was trained on."""
        return list(self.metadata["symbols"])

    @property
    def training_range(self) -> tuple[pd.Timestamp, pd.Timestamp]:
        """The first and last bar of the whole training set."""
        trained = self.metadata["training_range"]
        return pd.Timestamp(trained["start"]), pd.Timestamp(trained["end"])


@dataclass(frozen=True)
class BacktestRange:
    """The first and last base bar a backtest trades (open times, UTC)."""

    start: pd.Timestamp
    end: pd.Timestamp


class BacktestingService:
    """Start backtests of trained models: checks everything it can before creating the operation."""

    def __init__(
        self,
        operations: OperationsService,
        executor: Executor,
        *,
        settings: Settings,
        data: DataRepository,
        chunk_rows: int = DEFAULT_CHUNK_ROWS,
    ) -> None:
        if chunk_rows < 1:
            raise ValidationError(f"chunk_rows must be >= 1, got {chunk_rows}")
        self.operations = operations
        self.executor = executor
        self.settings = settings
        self.data = data
        self.chunk_rows = chunk_rows

    def resolve_model_path(self, name_or_path: str | Path) -> Path:
        """The bundle folder of a path, or the newest complete version of a strategy name.

        ``models/eurusd_rsi/v3`` (absolute or relative to KTRDR_HOME, always inside
        ``<KTRDR_HOME>/models``) is taken as is; ``eurusd_rsi`` means the highest ``v<N>`` under
        ``<KTRDR_HOME>/models/eurusd_rsi/`` that holds a bundle.json.
        """
        given = Path(name_or_path)
        models = self.settings.path("models")
        places = places_inside(name_or_path, self.settings.home, [models], "model path")
        for candidate in places:
            if (candidate / MANIFEST_FILE).is_file():
                return candidate
        versions_dir = (
            None if given.is_absolute() or models / given not in places else models / given
        )
        newest = _newest_complete_version(versions_dir) if versions_dir else None
        if newest is not None:
            return newest
        looked_at = " or ".join(str(p) for p in places)
        versions = f", and no trained version under {versions_dir}" if versions_dir else ""
        raise NotFoundError(
            f"model {str(name_or_path)!r}: no bundle folder (with {MANIFEST_FILE}) at "
            f"{looked_at}{versions}",
            details={"model": str(name_or_path)},
        )

    def start_backtest(
        self,
        model_path: str | Path,
        *,
        symbol: str | None = None,
        timeframe: str | None = None,
        start_date: DateLike | None = None,
        end_date: DateLike | None = None,
        parent_operation_id: str | None = None,
        costs: Mapping[str, Any] | None = None,
    ) -> dict[str, Any]:
        """Create the ``backtesting`` operation and submit its job; ``{"operation_id", "success"}``.

        ``model_path`` is a bundle folder or a strategy name (its newest model). The symbol
        defaults to the model's first; the timeframe must be the model's base timeframe. The
        range is ``start_date``/``end_date`` if given, else the strategy's ``backtest.date_range``,
        else everything after the model's training range; it may not overlap the training range
        of the same symbol. ``costs`` ({commission_bps, slippage_bps}) override the strategy's
        ``backtest.costs``. Each timeframe's bars are loaded once; the job gets the traded bars
        and their warm-up history in its request, and reads the bundle from its folder (local
        workers) or gets its files in the request (Ray, whose nodes may not share this disk).
        An invalid request raises (``NotFoundError``, ``ValidationError``, ``DataError``) and
        creates no operation.
        """
        bundle_path = self.resolve_model_path(model_path)
        model = TrainedModel.read(bundle_path)
        strategy = model.strategy
        symbol = canonical_symbol(symbol) if symbol is not None else model.symbols[0]
        timeframe = _check_timeframe(timeframe, strategy.base_timeframe(), strategy.name)
        merged_costs = resolve_costs(strategy.backtest.costs if strategy.backtest else None, costs)
        start, end = requested_range(start_date, end_date, strategy)
        bars = {tf: self.data.load(symbol, tf) for tf in strategy.timeframes()}
        backtest_range = self._check_range(model, symbol, bars, start, end)
        request = {
            "model_path": str(bundle_path.resolve()),
            "symbol": symbol,
            "timeframe": timeframe,
            "start_date": backtest_range.start.isoformat(),
            "end_date": backtest_range.end.isoformat(),
            "costs": merged_costs,
            "chunk_rows": self.chunk_rows,
            "bars": backtest_bars(bars, strategy, backtest_range.start, backtest_range.end),
        }
        if not self.executor.shares_disk(JOB_PATH):
            request["model_files"] = bundle_files(bundle_path)
        operation = self.operations.create(
            OperationType.BACKTESTING,
            parent_operation_id=parent_operation_id,
            metadata={
                "symbol": symbol,
                "timeframe": timeframe,
                "start_date": request["start_date"],
                "end_date": request["end_date"],
                "parameters": {
                    "model_path": str(bundle_path),
                    "strategy_name": strategy.name,
                    "costs": merged_costs,
                },
            },
        )
        self.executor.submit(
            JobSpec(
                operation_id=operation.operation_id,
                job=JOB_PATH,
                request=request,
                resources=ResourceNeeds(cpus=1.0),
            )
        )
        logger.info(
            "backtest %s of %s on %s %s..%s submitted",
            operation.operation_id,
            bundle_path,
            symbol,
            request["start_date"],
            request["end_date"],
        )
        return {"operation_id": operation.operation_id, "success": True}

    def _check_range(
        self,
        model: TrainedModel,
        symbol: str,
        bars: Mapping[str, pd.DataFrame],
        start: DateLike | None,
        end: DateLike | None,
    ) -> BacktestRange:
        """The traded bars' bounds, refusing overlap with training and too few bars.

        ``bars`` holds every timeframe's stored bars of ``symbol``, loaded once by the caller.
        """
        strategy = model.strategy
        base_timeframe = strategy.base_timeframe()
        base = bars[base_timeframe]
        trained = training_range_of(model, symbol)
        if start is None:
            training_end = trained[1] if trained else model.training_range[1]
            after = base.index[base.index > training_end]
            if after.empty:
                raise DataError(
                    f"no {symbol} {base_timeframe} bars after the model's training "
                    f"range (it ends {_day(training_end)}; the data ends "
                    f"{_day(base.index[-1])}); import newer data or give start_date"
                )
            start = after[0]
        in_range = slice_bars(base, start, end)
        if in_range.empty:
            raise DataError(
                f"no {symbol} {base_timeframe} bars between {start} and {end or 'the end'}; "
                f"the data covers {base.index[0]} to {base.index[-1]}",
                details={"symbol": symbol, "timeframe": base_timeframe},
            )
        label = f"{_day(start)}..{_day(end if end is not None else in_range.index[-1])}"
        if trained and in_range.index[0] <= trained[1] and in_range.index[-1] >= trained[0]:
            raise ValidationError(
                f"backtest range {label} overlaps the model's training range "
                f"{_day(trained[0])}..{_day(trained[1])}; start after {_day(trained[1])}",
                details={"symbol": symbol, "training_range": [str(t) for t in trained]},
            )
        lost = _warmup_shortfall(strategy, bars, in_range.index[0])
        if len(in_range) - lost < MIN_BACKTEST_BARS:
            raise DataError(
                f"backtest range {label} has {len(in_range)} {symbol} "
                f"{base_timeframe} bars, {lost} of them needed for the indicators' "
                f"warm-up; need at least {MIN_BACKTEST_BARS} to trade — widen the range"
            )
        return BacktestRange(start=in_range.index[0], end=in_range.index[-1])


def _warmup_shortfall(
    strategy: StrategyConfig, bars: Mapping[str, pd.DataFrame], first: pd.Timestamp
) -> int:
    """Base bars of the range lost to warm-up because too little history precedes it."""
    needed = warmup_rows(strategy)
    base_step = parse_timeframe(strategy.base_timeframe())
    lost = 0
    for timeframe in strategy.timeframes():
        missing = max(0, needed - int(bars[timeframe].index.searchsorted(first, "left")))
        lost = max(lost, int(missing * (parse_timeframe(timeframe) / base_step)))
    return lost


def resolve_costs(
    strategy_costs: Costs | None, overrides: Mapping[str, Any] | None
) -> dict[str, float]:
    """The strategy's costs (or the schema defaults) with ``overrides`` on top, validated.

    E.g. strategy {commission_bps: 1.0, slippage_bps: 0.5} + {"slippage_bps": 2} ->
    {commission_bps: 1.0, slippage_bps: 2.0}.
    """
    base = (strategy_costs or Costs()).model_dump()
    if overrides is None:
        return base
    if not isinstance(overrides, Mapping):
        raise ValidationError(
            f"costs must be a mapping {{commission_bps, slippage_bps}}, got {overrides!r}"
        )
    try:
        return Costs(**{**base, **overrides}).model_dump()
    except pydantic.ValidationError as exc:
        problems = "; ".join(
            f"costs.{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in exc.errors()
        )
        raise ValidationError(
            f"{problems} (allowed: commission_bps, slippage_bps, numbers >= 0 in basis points)",
            details={"costs": {k: str(v) for k, v in overrides.items()}},
        ) from exc


def training_range_of(model: TrainedModel, symbol: str) -> tuple[pd.Timestamp, pd.Timestamp] | None:
    """The bars the model trained on for ``symbol``; None when it never saw that symbol."""
    ranges = model.metadata.get("data_range") or {}
    if symbol in ranges:
        return pd.Timestamp(ranges[symbol]["start"]), pd.Timestamp(ranges[symbol]["end"])
    if symbol in model.symbols:
        return model.training_range
    return None


def requested_range(
    start_date: DateLike | None, end_date: DateLike | None, strategy: StrategyConfig
) -> tuple[DateLike | None, DateLike | None]:
    """Explicit dates win, then the strategy's backtest.date_range; None = decide from data."""
    configured: DateRange | None = strategy.backtest.date_range if strategy.backtest else None
    start = start_date if start_date is not None else (configured.start if configured else None)
    end = end_date if end_date is not None else (configured.end if configured else None)
    return start, end


def _newest_complete_version(versions_dir: Path) -> Path | None:
    """The highest ``v<N>`` folder holding a bundle.json (a training still saving has none)."""
    if not versions_dir.is_dir():
        return None
    complete = [
        (int(match.group(1)), entry)
        for entry in versions_dir.iterdir()
        if (match := VERSION_DIR.match(entry.name)) and (entry / MANIFEST_FILE).is_file()
    ]
    return max(complete)[1] if complete else None


def _check_timeframe(timeframe: str | None, base: str, strategy_name: str) -> str:
    if timeframe is None:
        return base
    if canonical_timeframe(timeframe) != base:
        raise ValidationError(
            f"timeframe {timeframe!r}: model {strategy_name} trades on its base timeframe "
            f"{base}; backtest it on {base}",
            details={"timeframe": str(timeframe), "allowed": [base]},
        )
    return base


def _day(value: DateLike) -> str:
    """A range end as a calendar day, e.g. 2017-12-29 (strings are shown as given)."""
    if isinstance(value, str):
        return value
    return pd.Timestamp(value).date().isoformat()
