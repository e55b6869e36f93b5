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
from ktrdr.backtesting.ranges import (
    HOLDOUT,
    MODES,
    RANGE,
    WALK_FORWARD,
    FoldSlice,
    TrainedModel,
    check_holdout_mode,
    check_range_mode,
    day_text,
    training_range_of,
    walk_forward_folds,
)
from ktrdr.data import (
    DataRepository,
    DataWindows,
    canonical_symbol,
    canonical_timeframe,
    parse_timeframe,
    slice_bars,
)
from ktrdr.data.repository import to_utc
from ktrdr.errors import DataError, NotFoundError, ValidationError
from ktrdr.execution import Executor, JobSpec, ResourceNeeds
from ktrdr.home_paths import places_inside
from ktrdr.operations import OperationsService, OperationType
from ktrdr.settings import Settings
from ktrdr.strategy import Costs, DateRange, StrategyConfig
from ktrdr.training.manifest import MANIFEST_FILE

logger = logging.getLogger(__name__)

VERSION_DIR = re.compile(r"^v([1-9][0-9]*)$")
DateLike = str | dt.date | dt.datetime | pd.Timestamp
COST_KEYS = ", ".join(Costs.model_fields)


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
        windows: DataWindows,
        chunk_rows: int = DEFAULT_CHUNK_ROWS,
    ) -> None:
        if chunk_rows < 1:
            raise ValidationError(f"chunk_rows must be >= 1, got {chunk_rows}")
        self.operations = operations
        self.executor = executor
        self.settings = settings
        self.data = data
        self.windows = windows
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
        mode: str | None = None,
        allow_in_sample: bool = False,
    ) -> dict[str, Any]:
        """Create the ``backtesting`` operation and submit its job; ``{"operation_id", "success"}``.

        ``model_path`` is a bundle folder or a strategy name (its newest model). Without a
        ``symbol`` every symbol the model trained on is traded: several as one portfolio
        (DESIGN §12); a ``symbol`` trades that one alone. The timeframe must be the model's
        base timeframe. A portfolio's holdout starts at the earliest of its data sets'.
        ``mode`` (DESIGN §11) defaults to ``range`` when dates are given (here or in the
        strategy's ``backtest.date_range``), else ``walk_forward``:

        - ``walk_forward``: each fold bundle (``folds/<k>/``) trades its own test slice; one
          stitched equity curve.
        - ``range``: ``start_date``..``end_date`` (start defaults to the bar after the training
          end, end to the last bar before the holdout). A range reaching into the holdout is
          refused; an in-sample range (before the training end, or another symbol during the
          training period) is refused unless ``allow_in_sample``, then marked ``in_sample``.
        - ``holdout``: the data set's sealed holdout; only ``HoldoutService`` asks for it.

        ``costs`` ({commission_bps, slippage_bps, spread_bps, financing_bps_per_day,
        per_symbol}) override the strategy's ``backtest.costs``.
        The job gets the traded bars and their warm-up history in its request, and reads the
        bundles from their folders (local workers) or gets their files in the request (nodes
        that may not share this disk). An invalid request raises (``NotFoundError``,
        ``ValidationError``, ``DataError``) and creates no operation.
        """
        bundle_path = self.resolve_model_path(model_path)
        model = TrainedModel.read(bundle_path)
        strategy = model.strategy
        symbols = [canonical_symbol(symbol)] if symbol is not None else model.symbols
        timeframe = _check_timeframe(timeframe, strategy.base_timeframe(), strategy.name)
        merged_costs = resolve_costs(strategy.backtest.costs if strategy.backtest else None, costs)
        mode = resolve_mode(mode, start_date, end_date, strategy)
        start, end = requested_range(start_date, end_date, strategy)
        bars = {
            name: {tf: self.data.load(name, tf) for tf in strategy.timeframes()} for name in symbols
        }
        holdout_start = self.windows.holdout_start(symbols, strategy.timeframes())
        ranges, folds, in_sample = self._plan(
            mode, model, bars, (start, end), holdout_start, allow_in_sample
        )
        first = min(r.start for r in ranges.values())
        last = max(r.end for r in ranges.values())
        request = {
            "mode": mode,
            "in_sample": in_sample,
            "model_path": str(bundle_path.resolve()),
            "symbols": symbols,
            "timeframe": timeframe,
            "start_date": first.isoformat(),
            "end_date": last.isoformat(),
            "ranges": {
                name: {"start_date": r.start.isoformat(), "end_date": r.end.isoformat()}
                for name, r in ranges.items()
            },
            "costs": merged_costs,
            "chunk_rows": self.chunk_rows,
            "bars": {
                name: backtest_bars(bars[name], strategy, r.start, r.end)
                for name, r in ranges.items()
            },
            "folds": [self._fold_request(fold) for fold in folds],
        }
        if mode != WALK_FORWARD and not self.executor.shares_disk(JOB_PATH):
            request["model_files"] = bundle_files(bundle_path)
        parameters = {
            "model_path": str(bundle_path),
            "strategy_name": strategy.name,
            "costs": merged_costs,
            "mode": mode,
            "in_sample": in_sample,
            "holdout_start": holdout_start.isoformat(),
        }
        if len(symbols) > 1:
            parameters["symbols"] = symbols
        operation = self.operations.create(
            OperationType.BACKTESTING,
            parent_operation_id=parent_operation_id,
            metadata={
                # A portfolio's operation is filed under its first symbol's data set.
                "symbol": symbols[0],
                "timeframe": timeframe,
                "start_date": request["start_date"],
                "end_date": request["end_date"],
                "parameters": parameters,
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
            "backtest %s (%s) of %s on %s %s..%s submitted",
            operation.operation_id,
            mode,
            bundle_path,
            ", ".join(symbols),
            request["start_date"],
            request["end_date"],
        )
        return {"operation_id": operation.operation_id, "success": True}

    def _plan(
        self,
        mode: str,
        model: TrainedModel,
        bars: Mapping[str, Mapping[str, pd.DataFrame]],
        dates: tuple[DateLike | None, DateLike | None],
        holdout_start: pd.Timestamp,
        allow_in_sample: bool,
    ) -> tuple[dict[str, BacktestRange], list[FoldSlice], bool]:
        """The bars each symbol trades in a mode, the folds (walk-forward only) and whether any
        symbol's range is in-sample."""
        strategy = model.strategy
        if mode == WALK_FORWARD:
            folds = walk_forward_folds(model, holdout_start)
            spans = {
                symbol: self._check_bars(strategy, symbol, frames, folds[0].start, folds[-1].end)
                for symbol, frames in bars.items()
            }
            return spans, folds, False
        if mode == HOLDOUT:
            spans = {}
            for symbol, frames in bars.items():
                check_holdout_mode(model, symbol, holdout_start)
                spans[symbol] = self._check_bars(strategy, symbol, frames, holdout_start, None)
            return spans, [], False
        spans, in_sample = {}, False
        for symbol, frames in bars.items():
            first, last = self._range_bounds(model, symbol, frames, *dates, holdout_start)
            in_sample |= check_range_mode(
                model,
                symbol,
                first,
                last,
                holdout_start=holdout_start,
                allow_in_sample=allow_in_sample,
            )
            spans[symbol] = self._check_bars(strategy, symbol, frames, first, last)
        return spans, [], in_sample

    def _fold_request(self, fold: FoldSlice) -> dict[str, Any]:
        """What the job needs of one fold: its slice and its bundle (folder or files)."""
        entry: dict[str, Any] = {
            "fold": fold.fold,
            "start_date": fold.start.isoformat(),
            "end_date": fold.end.isoformat(),
            "model_path": str(fold.path.resolve()),
        }
        if not self.executor.shares_disk(JOB_PATH):
            entry["model_files"] = bundle_files(fold.path)
        return entry

    def _range_bounds(
        self,
        model: TrainedModel,
        symbol: str,
        bars: Mapping[str, pd.DataFrame],
        start: DateLike | None,
        end: DateLike | None,
        holdout_start: pd.Timestamp,
    ) -> tuple[pd.Timestamp, pd.Timestamp]:
        """A range's first and last base bar: no start = after the training end, no end = the
        last bar before the holdout."""
        base_timeframe = model.strategy.base_timeframe()
        base = bars[base_timeframe]
        if start is None:
            trained = training_range_of(model, symbol)
            training_end = trained[1] if trained else model.training_range[1]
            after = base.index[(base.index > training_end) & (base.index < holdout_start)]
            if after.empty:
                raise DataError(
                    f"no {symbol} {base_timeframe} bars between the model's training end "
                    f"({day_text(training_end)}) and the sealed holdout "
                    f"(from {day_text(holdout_start)}); "
                    "run the walk-forward backtest (no dates), `ktrdr holdout evaluate MODEL`, "
                    "or give start_date with allow_in_sample"
                )
            start = after[0]
        if end is None and to_utc(start, "start_date") < holdout_start:
            end = base.index[base.index < holdout_start][-1]
        in_range = _bars_between(base, symbol, base_timeframe, start, end)
        return in_range.index[0], in_range.index[-1]

    def _check_bars(
        self,
        strategy: StrategyConfig,
        symbol: str,
        bars: Mapping[str, pd.DataFrame],
        start: DateLike,
        end: DateLike | None,
    ) -> BacktestRange:
        """The traded bars' bounds, refusing too few bars to trade after the warm-up."""
        base_timeframe = strategy.base_timeframe()
        in_range = _bars_between(bars[base_timeframe], symbol, base_timeframe, start, end)
        label = f"{day_text(start)}..{day_text(end if end is not None else in_range.index[-1])}"
        lost = _warmup_shortfall(strategy, bars, in_range.index[0])
        if len(in_range) - lost < MIN_BACKTEST_BARS:
            raise DataError(
                f"backtest range {label} has {len(in_range)} {symbol} "
                f"{base_timeframe} bars, {lost} of them needed for the indicators' "
                f"warm-up; need at least {MIN_BACKTEST_BARS} to trade — widen the range"
            )
        return BacktestRange(start=in_range.index[0], end=in_range.index[-1])


def _bars_between(
    base: pd.DataFrame, symbol: str, timeframe: str, start: DateLike, end: DateLike | None
) -> pd.DataFrame:
    """The base bars in [start, end]; a DataError naming the data's own range when none."""
    in_range = slice_bars(base, start, end)
    if in_range.empty:
        raise DataError(
            f"no {symbol} {timeframe} bars between {start} and {end or 'the end'}; "
            f"the data covers {base.index[0]} to {base.index[-1]}",
            details={"symbol": symbol, "timeframe": timeframe},
        )
    return in_range


def resolve_mode(
    mode: str | None,
    start_date: DateLike | None,
    end_date: DateLike | None,
    strategy: StrategyConfig,
) -> str:
    """The backtest mode: as given, else ``range`` when dates are given (in the request or the
    strategy's ``backtest.date_range``), else ``walk_forward``."""
    explicit = start_date is not None or end_date is not None
    if mode is None:
        configured = strategy.backtest is not None and strategy.backtest.date_range is not None
        return RANGE if explicit or configured else WALK_FORWARD
    if mode not in MODES:
        raise ValidationError(
            f"mode {mode!r}: must be one of {', '.join(MODES)}",
            details={"mode": str(mode), "allowed": list(MODES)},
        )
    if mode != RANGE and explicit:
        raise ValidationError(
            f"mode {mode} decides its own bars; start_date/end_date are for mode range",
            details={"mode": mode},
        )
    return mode


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
) -> dict[str, Any]:
    """The strategy's costs (or the schema defaults) with ``overrides`` on top, validated.

    E.g. strategy {commission_bps: 1.0, slippage_bps: 0.5} + {"slippage_bps": 2} ->
    {commission_bps: 1.0, slippage_bps: 2.0, spread_bps: 0.0, financing_bps_per_day: 0.0}.
    An override's ``per_symbol`` replaces the strategy's; a per-symbol cost wins over the
    default one for that symbol.
    """
    base = (strategy_costs or Costs()).model_dump(exclude_none=True)
    if overrides is None:
        return base
    if not isinstance(overrides, Mapping):
        raise ValidationError(f"costs must be a mapping of {COST_KEYS}, got {overrides!r}")
    try:
        return Costs(**{**base, **overrides}).model_dump(exclude_none=True)
    except pydantic.ValidationError as exc:
        problems = "; ".join(
            f"costs.{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in exc.errors()
        )
        raise ValidationError(
            f"{problems} (allowed: {COST_KEYS}; numbers >= 0 in basis points)",
            details={"costs": {k: str(v) for k, v in overrides.items()}},
        ) from exc


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
