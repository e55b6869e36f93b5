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
    horizon_in_sample_space,
    label_distribution,
    make_labels,
)
from ktrdr.strategy import StrategyConfig
from ktrdr.training.inputs import MIN_SAMPLES, BarsBySymbol
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
            "test": len(self.labels["test"]),
        }

    def label_distribution(self) -> dict[str, dict[str, int]]:
        """Class counts per split, e.g. ``{"train": {"sell": 900, "hold": 1200, "buy": 900}}``."""
        names = {"train": "train", "validation": "val", "test": "test"}
        return {names[s]: label_distribution(self.labels[s]) for s in SPLITS}


@dataclass(frozen=True)
class _SymbolSamples:
    features: FeatureFrame
    positions: np.ndarray  # rows of features.frame that are samples
    labels: np.ndarray
    segments: dict[str, np.ndarray]  # split -> indexes into positions


def prepare_training_data(
    strategy: StrategyConfig, bars: BarsBySymbol, *, audit: bool = True
) -> PreparedData:
    """Build the pooled, normalised train/validation/test arrays of a strategy, checking first.

    Per symbol: features (warm-up dropped), labels, a chronological split that purges labels
    crossing a boundary plus an embargo; then normalisation fitted on the pooled train rows only.
    Raises ``DataError``/``ValidationError`` naming the symbol and the problem.
    """
    pipeline = FeaturePipeline(strategy)
    lookback = strategy.model.lookback
    per_symbol: dict[str, _SymbolSamples] = {}
    for symbol, by_tf in bars.items():
        if audit:
            report = audit_lookahead(strategy, by_tf)
            if not report.passed:
                raise ValidationError(f"look-ahead audit failed for {symbol}: {report.describe()}")
        per_symbol[symbol] = _symbol_samples(strategy, pipeline, symbol, by_tf, lookback)

    train_rows = pd.concat(
        [s.features.frame.iloc[s.positions[s.segments["train"]]] for s in per_symbol.values()]
    )
    normalization = pipeline.fit_normalization(train_rows)
    inputs: dict[str, list[np.ndarray]] = {split: [] for split in SPLITS}
    labels: dict[str, list[np.ndarray]] = {split: [] for split in SPLITS}
    for samples in per_symbol.values():
        matrix = _model_matrix(pipeline, samples.features, normalization, strategy)
        # Row k of the frame is the newest row of model-input row k - (lookback - 1).
        rows = samples.positions - (lookback - 1)
        for split in SPLITS:
            chosen = samples.segments[split]
            inputs[split].append(matrix[rows[chosen]])
            labels[split].append(samples.labels[chosen])
    prepared = PreparedData(
        inputs={s: np.concatenate(inputs[s]) for s in SPLITS},
        labels={s: np.concatenate(labels[s]).astype(np.int64) for s in SPLITS},
        feature_names=pipeline.feature_names,
        normalization=normalization,
        data_range=_data_range(bars, pipeline.base_timeframe),
        details={
            "warmup_dropped": {s: v.features.warmup_dropped for s, v in per_symbol.items()},
        },
    )
    _check_inputs(prepared)
    return prepared


def _symbol_samples(
    strategy: StrategyConfig,
    pipeline: FeaturePipeline,
    symbol: str,
    bars: Mapping[str, pd.DataFrame],
    lookback: int,
) -> _SymbolSamples:
    base = bars[pipeline.base_timeframe]
    try:
        features = pipeline.compute(bars)
    except DataError as exc:
        raise DataError(f"{symbol}: {exc.message} ({len(base)} bars given)") from exc
    label_result = make_labels(base, strategy.training.labels.model_dump())
    bar_of_row = base.index.get_indexer(features.frame.index)
    candidates = np.arange(lookback - 1, len(features.frame))
    positions = candidates[label_result.defined[bar_of_row[candidates]]]
    if len(positions) < sum(MIN_SAMPLES.values()):
        raise DataError(
            f"{symbol}: too few samples to train: {len(base)} bars, {features.warmup_dropped} "
            f"dropped for indicator warm-up, {len(positions)} labelled samples left; need at least "
            f"{sum(MIN_SAMPLES.values())} — widen the date range"
        )
    sample_bars = bar_of_row[positions]
    horizon = horizon_in_sample_space(sample_bars, label_result.horizon)
    split = strategy.training.data_split
    embargo = strategy.training.embargo_bars
    indices = chronological_split(
        len(positions),
        (split.train, split.validation, split.test),
        horizon,
        embargo=label_result.max_lookahead if embargo is None else embargo,
    )
    segments = {"train": indices.train, "validation": indices.validation, "test": indices.test}
    _check_segments(symbol, segments, label_result.labels[sample_bars])
    return _SymbolSamples(
        features=features,
        positions=positions,
        labels=label_result.labels[sample_bars].astype(np.int64),
        segments=segments,
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


def _check_segments(symbol: str, segments: dict[str, np.ndarray], labels: np.ndarray) -> None:
    for split, chosen in segments.items():
        if len(chosen) < MIN_SAMPLES[split]:
            raise DataError(
                f"{symbol}: the {split} split has {len(chosen)} samples after purging and "
                f"embargo; need at least {MIN_SAMPLES[split]} — widen the date range"
            )
        classes = np.unique(labels[chosen])
        if len(classes) < 2:
            only = LABEL_NAMES[int(classes[0])]
            raise DataError(
                f"{symbol}: the {split} split has only one class ({only}); change the label "
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
