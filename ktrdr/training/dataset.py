"""From bars to train/validation/test tensors: features, labels, purged split, pre-flight checks."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from ktrdr.errors import DataError, ValidationError
from ktrdr.features import (
    LABEL_NAMES,
    FeatureFrame,
    FeaturePipeline,
    Normalization,
    audit_lookahead,
    chronological_split,
    label_distribution,
    make_labels,
)
from ktrdr.features.walk_forward import MIN_FOLD_SAMPLES
from ktrdr.strategy import StrategyConfig
from ktrdr.training.inputs import BarsBySymbol
from ktrdr.training.models import make_sequences

logger = logging.getLogger(__name__)

SPLITS = ("train", "validation", "test")


@dataclass(frozen=True)
class PreparedData:
    """Model-ready arrays per split, and what it took to make them."""

    inputs: dict[str, np.ndarray]
    labels: dict[str, np.ndarray]
    feature_names: list[str]
    normalization: Normalization
    data_range: dict[str, dict[str, str]]
    details: dict[str, Any] = field(default_factory=dict)

    @property
    def n_samples(self) -> dict[str, int]:
        """Samples per split, e.g. ``{"train": 3000, "val": 600, "test": 600}``."""
        return {
            "train": len(self.labels["train"]),
            "val": len(self.labels["validation"]),
            "test": len(self.labels.get("test", ())),
        }

    def label_distribution(self) -> dict[str, dict[str, int]]:
        """Class counts per split, e.g. ``{"train": {"sell": 900, "hold": 1200, "buy": 900}}``."""
        names = {"train": "train", "validation": "val", "test": "test"}
        return {names[s]: label_distribution(self.labels[s]) for s in SPLITS if s in self.labels}


@dataclass(frozen=True)
class _SymbolSamples:
    features: FeatureFrame
    positions: np.ndarray  # rows of features.frame that are samples
    labels: np.ndarray
    grid_index: np.ndarray  # each sample's index on the SampleSet's time grid


@dataclass(frozen=True)
class SampleSet:
    """Features and labels computed once over the given bars, ready to be sliced by time.

    ``grid`` holds every sample timestamp of every symbol, ascending; ``grid_horizon[i]`` is
    the last grid index that any label at grid point i looked at (for purging), and
    ``embargo`` the number of grid points to leave out after a boundary.
    """

    strategy: StrategyConfig
    pipeline: FeaturePipeline
    per_symbol: dict[str, _SymbolSamples]
    grid: pd.DatetimeIndex
    grid_horizon: np.ndarray
    embargo: int
    data_range: dict[str, dict[str, str]]

    @property
    def n_samples(self) -> int:
        """Points on the time grid, e.g. 4,900 for one symbol's 4,900 samples."""
        return len(self.grid)

    def span(self, indices: np.ndarray) -> dict[str, str]:
        """``{start, end}`` (ISO) of the grid points ``indices``."""
        return {
            "start": self.grid[int(indices.min())].isoformat(),
            "end": self.grid[int(indices.max())].isoformat(),
        }


def compute_samples(
    strategy: StrategyConfig, bars: BarsBySymbol, *, audit: bool = True
) -> SampleSet:
    """Features, labels and label horizons of every symbol, computed once over all ``bars``.

    Runs the look-ahead audit first (unless ``audit`` is False); raises ``DataError`` /
    ``ValidationError`` naming the symbol and the problem.
    """
    pipeline = FeaturePipeline(strategy)
    lookback = strategy.model.lookback
    computed = {}
    for symbol, by_tf in bars.items():
        if audit:
            report = audit_lookahead(strategy, by_tf)
            if not report.passed:
                raise ValidationError(f"look-ahead audit failed for {symbol}: {report.describe()}")
        computed[symbol] = _symbol_labels(strategy, pipeline, symbol, by_tf, lookback)
    grid = pd.DatetimeIndex(np.unique(np.concatenate([c[3] for c in computed.values()])))
    grid_horizon = np.arange(len(grid), dtype=np.int64)
    per_symbol = {}
    lookahead = 0
    for symbol, (features, positions, labels, times, horizon_times, steps) in computed.items():
        grid_index = grid.searchsorted(times)
        reach = grid.searchsorted(horizon_times, side="right") - 1
        np.maximum.at(grid_horizon, grid_index, reach)
        per_symbol[symbol] = _SymbolSamples(features, positions, labels, grid_index)
        lookahead = max(lookahead, steps)
    embargo = strategy.training.embargo_bars
    return SampleSet(
        strategy=strategy,
        pipeline=pipeline,
        per_symbol=per_symbol,
        grid=grid,
        grid_horizon=grid_horizon,
        embargo=lookahead if embargo is None else embargo,
        data_range=_data_range(bars, pipeline.base_timeframe),
    )


def select_samples(
    samples: SampleSet, selection: Mapping[str, np.ndarray], *, what: str = "training"
) -> PreparedData:
    """Model-ready arrays of the grid points ``selection[split]`` (keys train, validation, test).

    Normalisation is fitted on the selected train rows only. Each split must hold enough
    samples of more than one class (``DataError`` naming ``what``, the symbol and the split).
    """
    strategy, pipeline = samples.strategy, samples.pipeline
    lookback = strategy.model.lookback
    chosen: dict[str, dict[str, np.ndarray]] = {}
    for symbol, symbol_samples in samples.per_symbol.items():
        chosen[symbol] = {}
        for split, points in selection.items():
            mask = np.zeros(samples.n_samples, dtype=bool)
            mask[points] = True
            chosen[symbol][split] = np.flatnonzero(mask[symbol_samples.grid_index])
        _check_segments(f"{what}: {symbol}", chosen[symbol], symbol_samples.labels)
    train_rows = pd.concat(
        [
            s.features.frame.iloc[s.positions[chosen[symbol]["train"]]]
            for symbol, s in samples.per_symbol.items()
        ]
    )
    normalization = pipeline.fit_normalization(train_rows)
    inputs: dict[str, list[np.ndarray]] = {split: [] for split in selection}
    labels: dict[str, list[np.ndarray]] = {split: [] for split in selection}
    for symbol, symbol_samples in samples.per_symbol.items():
        matrix = _model_matrix(pipeline, symbol_samples.features, normalization, strategy)
        # Row k of the frame is the newest row of model-input row k - (lookback - 1).
        rows = symbol_samples.positions - (lookback - 1)
        for split, picked in chosen[symbol].items():
            inputs[split].append(matrix[rows[picked]])
            labels[split].append(symbol_samples.labels[picked])
    prepared = PreparedData(
        inputs={s: np.concatenate(v) for s, v in inputs.items()},
        labels={s: np.concatenate(v).astype(np.int64) for s, v in labels.items()},
        feature_names=pipeline.feature_names,
        normalization=normalization,
        data_range=samples.data_range,
        details={
            "warmup_dropped": {s: v.features.warmup_dropped for s, v in samples.per_symbol.items()},
        },
    )
    _check_inputs(prepared)
    return prepared


def prepare_training_data(
    strategy: StrategyConfig, bars: BarsBySymbol, *, audit: bool = True
) -> PreparedData:
    """Build the pooled, normalised train/validation/test arrays of a strategy, checking first.

    The single split (``evaluation.folds: 0``): features (warm-up dropped) and labels once, a
    chronological split of the samples' time grid by ``training.data_split`` that purges labels
    crossing a boundary plus an embargo; then normalisation fitted on the train rows only.
    Raises ``DataError``/``ValidationError`` naming the symbol and the problem.
    """
    samples = compute_samples(strategy, bars, audit=audit)
    split = strategy.training.data_split
    indices = chronological_split(
        samples.n_samples,
        (split.train, split.validation, split.test),
        samples.grid_horizon,
        embargo=samples.embargo,
    )
    selection = {"train": indices.train, "validation": indices.validation, "test": indices.test}
    return select_samples(samples, selection)


def _symbol_labels(
    strategy: StrategyConfig,
    pipeline: FeaturePipeline,
    symbol: str,
    bars: Mapping[str, pd.DataFrame],
    lookback: int,
) -> tuple[FeatureFrame, np.ndarray, np.ndarray, np.ndarray, np.ndarray, int]:
    base = bars[pipeline.base_timeframe]
    try:
        features = pipeline.compute(bars)
    except DataError as exc:
        raise DataError(f"{symbol}: {exc.message} ({len(base)} bars given)") from exc
    label_result = make_labels(base, strategy.training.labels.model_dump())
    bar_of_row = base.index.get_indexer(features.frame.index)
    candidates = np.arange(lookback - 1, len(features.frame))
    positions = candidates[label_result.defined[bar_of_row[candidates]]]
    if len(positions) < sum(MIN_FOLD_SAMPLES.values()):
        raise DataError(
            f"{symbol}: too few samples to train: {len(base)} bars, {features.warmup_dropped} "
            f"dropped for indicator warm-up, {len(positions)} labelled samples left; need at least "
            f"{sum(MIN_FOLD_SAMPLES.values())} — widen the date range"
        )
    sample_bars = bar_of_row[positions]
    return (
        features,
        positions,
        label_result.labels[sample_bars].astype(np.int64),
        base.index[sample_bars].to_numpy(),
        base.index[label_result.horizon[sample_bars]].to_numpy(),
        label_result.max_lookahead,
    )


def _model_matrix(
    pipeline: FeaturePipeline,
    features: FeatureFrame,
    normalization: Normalization,
    strategy: StrategyConfig,
) -> np.ndarray:
    values = pipeline.model_inputs(features, normalization).values
    if strategy.model.type == "mlp":
        return values
    return make_sequences(values, strategy.model.lookback)


def _check_segments(where: str, segments: Mapping[str, np.ndarray], labels: np.ndarray) -> None:
    for split, chosen in segments.items():
        if len(chosen) < MIN_FOLD_SAMPLES[split]:
            raise DataError(
                f"{where}: the {split} split has {len(chosen)} samples after purging and "
                f"embargo; need at least {MIN_FOLD_SAMPLES[split]} — widen the date range"
            )
        classes = np.unique(labels[chosen])
        if len(classes) < 2:
            only = LABEL_NAMES[int(classes[0])]
            raise DataError(
                f"{where}: the {split} split has only one class ({only}); change the label "
                "parameters or the date range"
            )


def _check_inputs(prepared: PreparedData) -> None:
    for split, values in prepared.inputs.items():
        bad = ~np.isfinite(values)
        if bad.any():
            column = int(np.argwhere(bad)[0][-1]) % len(prepared.feature_names)
            raise DataError(
                f"{split} inputs contain NaN/inf (feature {prepared.feature_names[column]})"
            )


def _data_range(bars: BarsBySymbol, base_timeframe: str) -> dict[str, dict[str, str]]:
    ranges = {}
    for symbol, by_tf in bars.items():
        index = by_tf[base_timeframe].index
        ranges[symbol] = {"start": index[0].isoformat(), "end": index[-1].isoformat()}
    return ranges
