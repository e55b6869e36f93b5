"""Which bars a backtest may trade (DESIGN §11): the sealed holdout and the in-sample guard.

A ``range`` backtest stays before the holdout start; a range before the model's training end,
or of another symbol during its training period, is in-sample and refused unless allowed.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from ktrdr.data.repository import DateLike, is_date_only, to_utc
from ktrdr.errors import ValidationError
from ktrdr.strategy import StrategyConfig, validate_strategy
from ktrdr.training.manifest import (
    FOLDS_DIR,
    MANIFEST_FILE,
    SINGLE_SPLIT,
    WEIGHTS_FILE,
    check_weights_digest,
    read_manifest,
)

WALK_FORWARD = "walk_forward"
RANGE = "range"
HOLDOUT = "holdout"
MODES = (WALK_FORWARD, RANGE, HOLDOUT)


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
        return _utc(trained["start"]), _utc(trained["end"])


@dataclass(frozen=True)
class FoldSlice:
    """One walk-forward fold: its bundle folder and the out-of-sample slice it trades."""

    fold: int
    path: Path
    start: pd.Timestamp
    end: pd.Timestamp


def training_range_of(model: TrainedModel, symbol: str) -> tuple[pd.Timestamp, pd.Timestamp] | None:
    """The bars the model trained on for ``symbol``; None when it never saw that symbol."""
    ranges = model.metadata.get("data_range") or {}
    if symbol in ranges:
        return _utc(ranges[symbol]["start"]), _utc(ranges[symbol]["end"])
    if symbol in model.symbols:
        return model.training_range
    return None


def in_sample_reason(
    model: TrainedModel, symbol: str, first: pd.Timestamp, last: pd.Timestamp
) -> str | None:
    """Why trading ``symbol`` over [first, last] is in-sample for ``model``; None when it is not.

    In-sample: any bar at or before the model's training end for a symbol it trained on, or any
    bar inside its training period for another symbol (markets move together).
    """
    own = training_range_of(model, symbol)
    if own is not None:
        if first <= own[1]:
            return (
                f"it starts before the model's training end {day_text(own[1])} "
                f"({symbol} trained {day_text(own[0])}..{day_text(own[1])})"
            )
        return None
    start, end = model.training_range
    if first <= end and last >= start:
        return (
            f"{symbol} over the model's training period {day_text(start)}..{day_text(end)} "
            f"(it trained on {', '.join(model.symbols)})"
        )
    return None


def check_range_mode(
    model: TrainedModel,
    symbol: str,
    first: pd.Timestamp,
    last: pd.Timestamp,
    *,
    holdout_start: pd.Timestamp,
    allow_in_sample: bool,
) -> bool:
    """Refuse a range in the holdout, or in-sample unless allowed; True when it is in-sample."""
    label = f"{day_text(first)}..{day_text(last)}"
    if last >= holdout_start:
        raise ValidationError(
            f"backtest range {label} of {symbol} reaches into the sealed holdout (it starts "
            f"{holdout_start.isoformat()}); a model meets the holdout once, through "
            f"`ktrdr holdout evaluate MODEL` (POST /api/v1/holdout/evaluate)",
            details={"symbol": symbol, "holdout_start": holdout_start.isoformat()},
        )
    reason = in_sample_reason(model, symbol, first, last)
    if reason is not None and not allow_in_sample:
        raise ValidationError(
            f"backtest range {label} is in-sample: {reason}; pick a range after the training "
            "end, run the walk-forward backtest (no range), or pass allow_in_sample "
            "(--allow-in-sample) to run it marked in_sample",
            details={"symbol": symbol, "range": [first.isoformat(), last.isoformat()]},
        )
    return reason is not None


def check_holdout_mode(model: TrainedModel, symbol: str, holdout_start: pd.Timestamp) -> None:
    """Refuse a holdout evaluation of a model that trained on holdout bars."""
    reason = in_sample_reason(model, symbol, holdout_start, holdout_start)
    if reason is not None:
        raise ValidationError(
            f"model {model.path} cannot be evaluated on the holdout of {symbol} (it starts "
            f"{holdout_start.isoformat()}): {reason}, so its holdout result would be in-sample; "
            "retrain it (training stops before the holdout)",
            details={"model": str(model.path), "holdout_start": holdout_start.isoformat()},
        )


def walk_forward_folds(model: TrainedModel, holdout_start: pd.Timestamp) -> list[FoldSlice]:
    """The folds of bundle.json's ``walk_forward`` block, each bundle checked, in time order."""
    block = model.metadata.get("walk_forward")
    if (
        isinstance(block, dict)
        and block.get("scheme") == SINGLE_SPLIT
        and model.metadata.get("test_range")
    ):
        # One split: the model itself, on the test split it never trained on.
        tested = model.metadata["test_range"]
        entry = {"fold": 1, "test_start": tested["start"], "test_end": tested["end"]}
        return [_fold_slice(model, entry, holdout_start, path=model.path)]
    entries = block.get("folds") if isinstance(block, dict) else None
    if not entries:
        raise ValidationError(
            f"model {model.path} has no walk-forward folds (its bundle.json has no walk_forward "
            "block: it was trained before walk-forward training); backtest a range after its "
            "training end instead: pass --start/--end (API: start_date/end_date)",
            details={"model": str(model.path)},
        )
    folds = [_fold_slice(model, entry, holdout_start) for entry in entries]
    folds.sort(key=lambda fold: fold.start)
    for before, after in itertools.pairwise(folds):
        if after.start <= before.end:
            raise ValidationError(
                f"model {model.path}: the test slices of folds {before.fold} and {after.fold} "
                "overlap; the walk-forward block is corrupt"
            )
    return folds


def _fold_slice(
    model: TrainedModel,
    entry: dict[str, Any],
    holdout_start: pd.Timestamp,
    *,
    path: Path | None = None,
) -> FoldSlice:
    fold = int(entry["fold"])
    path = path or model.path / FOLDS_DIR / str(fold)
    fold_model = model if path == model.path else TrainedModel.read(path)
    start, end = _utc(entry["test_start"]), _last_moment(entry["test_end"])
    trained_end = fold_model.training_range[1]
    if trained_end >= start:
        raise ValidationError(
            f"fold {fold} of {model.path} trained up to {trained_end.isoformat()}, not before "
            f"its test slice (from {start.isoformat()}); the fold bundle is inconsistent"
        )
    if end >= holdout_start:
        raise ValidationError(
            f"fold {fold} of {model.path} tests up to {end.isoformat()}, inside the sealed "
            f"holdout (from {holdout_start.isoformat()}); retrain the model"
        )
    return FoldSlice(fold=fold, path=path, start=start, end=end)


def _last_moment(value: DateLike) -> pd.Timestamp:
    """A range end as a time: a bare date ("2017-09-30") means the whole of that day."""
    stamp = _utc(value)
    return stamp + pd.Timedelta(days=1) - pd.Timedelta(seconds=1) if is_date_only(value) else stamp


def _utc(value: DateLike) -> pd.Timestamp:
    return to_utc(value, "time")


def day_text(value: DateLike) -> str:
    """A range end as a calendar day, e.g. 2017-12-29 (strings are shown as given)."""
    if isinstance(value, str):
        return value
    return pd.Timestamp(value).date().isoformat()
