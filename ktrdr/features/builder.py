"""The one feature pipeline: bars + strategy -> the model's feature matrix (DESIGN §7).

Training and backtest both call ``FeaturePipeline``: the same indicators, memberships,
higher-timeframe join, normalisation (fitted on the training split only and stored in the model
bundle) and lookback stacking. Names are ``{tf}_{fuzzy_set}_{membership}`` and
``{tf}_{indicator[.output]}_raw``; with an MLP lookback of L > 1 each name gets ``_lag{k}``
(k = 0 is bar t, k = 1 is bar t-1, ...).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import pandas as pd

from ktrdr.data import close_times
from ktrdr.errors import DataError, ValidationError
from ktrdr.features.fuzzy import membership_degrees
from ktrdr.features.indicators import compute_indicator
from ktrdr.strategy import FuzzyInput, RawInput, StrategyConfig

BarsByTimeframe = Mapping[str, pd.DataFrame]
Normalization = dict[str, dict[str, float]]
NORMALIZATION_EPSILON = 1e-12


@dataclass(frozen=True)
class FeatureColumn:
    """One base feature: where its values come from."""

    name: str
    timeframe: str
    indicator_id: str
    output: str  # "value" for single-output indicators
    fuzzy_set: str | None = None
    membership: str | None = None
    normalization: str = "none"  # zscore | minmax | none (fuzzy degrees are never normalised)


@dataclass(frozen=True)
class FeatureFrame:
    """Base features of one symbol on the base grid, warm-up rows dropped, not yet normalised."""

    frame: pd.DataFrame
    warmup_dropped: int


@dataclass(frozen=True)
class ModelInputs:
    """The rows the model sees: ``values[i]`` is the input for the bar at ``index[i]``."""

    values: np.ndarray
    index: pd.DatetimeIndex
    feature_names: list[str]


def _split_reference(reference: str) -> tuple[str, str | None]:
    indicator_id, _, output = reference.partition(".")
    return indicator_id, output or None


class FeaturePipeline:
    """Compute a strategy's features; the same object serves training and backtest."""

    def __init__(self, strategy: StrategyConfig) -> None:
        self.strategy = strategy
        self.timeframes = strategy.timeframes()
        self.base_timeframe = strategy.base_timeframe()
        self.lookback = strategy.model.lookback if strategy.model.type == "mlp" else 1
        self.columns = self._plan_columns()

    @property
    def base_feature_names(self) -> list[str]:
        """Feature names before lookback stacking, in their fixed order."""
        return [column.name for column in self.columns]

    @property
    def feature_names(self) -> list[str]:
        """The model's input names, in order (with ``_lag{k}`` when lookback > 1)."""
        if self.lookback == 1:
            return self.base_feature_names
        return [f"{n}_lag{k}" for k in range(self.lookback) for n in self.base_feature_names]

    def compute(self, bars: BarsByTimeframe) -> FeatureFrame:
        """Base features on the base timeframe's bars; leading rows with any NaN are dropped."""
        return _drop_warmup(self.compute_raw(bars))

    def compute_raw(self, bars: BarsByTimeframe) -> pd.DataFrame:
        """Base features on every base bar, warm-up NaN included (what the audit compares)."""
        missing = [tf for tf in self.timeframes if tf not in bars]
        if missing:
            raise DataError(f"no bars given for timeframe(s) {', '.join(missing)}")
        base = bars[self.base_timeframe]
        columns: dict[str, np.ndarray] = {}
        for timeframe in self.timeframes:
            needed = [c for c in self.columns if c.timeframe == timeframe]
            if not needed:
                continue
            values = self._timeframe_values(needed, bars[timeframe])
            if timeframe != self.base_timeframe:
                values = _join_closed(values, bars[timeframe], timeframe, base, self.base_timeframe)
            columns.update(values)
        return pd.DataFrame(
            {name: columns[name] for name in self.base_feature_names}, index=base.index
        )

    def fit_normalization(self, train_rows: pd.DataFrame) -> Normalization:
        """Normalisation parameters of the raw inputs, from the training rows only."""
        params: Normalization = {}
        for column in self.columns:
            if column.normalization == "none":
                continue
            values = train_rows[column.name].to_numpy(dtype=np.float64)
            if column.normalization == "zscore":
                std = float(values.std())
                params[column.name] = {"mean": float(values.mean()), "std": std}
            else:
                params[column.name] = {"min": float(values.min()), "max": float(values.max())}
        return params

    def model_inputs(self, features: FeatureFrame, normalization: Normalization) -> ModelInputs:
        """Normalise and stack lookback lags: the exact matrix the model trains or predicts on."""
        frame = features.frame
        # Filled feature by feature into a (features, rows) array, so every write is contiguous.
        columns = np.empty((len(self.columns), len(frame)), dtype=np.float32)
        for j, column in enumerate(self.columns):
            columns[j] = _normalize(frame[column.name].to_numpy(np.float64), column, normalization)
        values = np.ascontiguousarray(columns.T)
        if self.lookback > 1:
            values = _stack_lags(values, self.lookback)
            index = frame.index[self.lookback - 1 :]
        else:
            index = frame.index
        return ModelInputs(
            values=values, index=pd.DatetimeIndex(index), feature_names=self.feature_names
        )

    def _plan_columns(self) -> list[FeatureColumn]:
        columns: list[FeatureColumn] = []
        for nn_input in self.strategy.nn_inputs:
            timeframes = self.timeframes if nn_input.timeframes == "all" else nn_input.timeframes
            for timeframe in timeframes:
                columns.extend(self._input_columns(nn_input, timeframe))
        names = [c.name for c in columns]
        duplicates = sorted({n for n in names if names.count(n) > 1})
        if duplicates:
            raise ValidationError(f"nn_inputs produce duplicate features: {', '.join(duplicates)}")
        return columns

    def _input_columns(self, nn_input: FuzzyInput | RawInput, tf: str) -> list[FeatureColumn]:
        if isinstance(nn_input, RawInput):
            indicator_id, output = _split_reference(nn_input.raw_indicator)
            return [
                FeatureColumn(
                    name=f"{tf}_{nn_input.raw_indicator}_raw",
                    timeframe=tf,
                    indicator_id=indicator_id,
                    output=output or "value",
                    normalization=nn_input.normalization,
                )
            ]
        fuzzy = self.strategy.fuzzy_sets[nn_input.fuzzy_set]
        indicator_id, output = _split_reference(fuzzy.indicator)
        return [
            FeatureColumn(
                name=f"{tf}_{nn_input.fuzzy_set}_{membership}",
                timeframe=tf,
                indicator_id=indicator_id,
                output=output or "value",
                fuzzy_set=nn_input.fuzzy_set,
                membership=membership,
            )
            for membership in fuzzy.memberships
        ]

    def _timeframe_values(
        self, columns: list[FeatureColumn], bars: pd.DataFrame
    ) -> dict[str, np.ndarray]:
        outputs: dict[str, dict[str, np.ndarray]] = {}
        values: dict[str, np.ndarray] = {}
        for column in columns:
            if column.indicator_id not in outputs:
                indicator = self.strategy.indicators[column.indicator_id]
                outputs[column.indicator_id] = compute_indicator(
                    indicator.type, indicator.params, bars
                )
            series = outputs[column.indicator_id][column.output]
            if column.fuzzy_set is None:
                values[column.name] = series
            else:
                function = self.strategy.fuzzy_sets[column.fuzzy_set].memberships[column.membership]
                values[column.name] = membership_degrees(function.type, function.parameters, series)
        return values


def _join_closed(
    values: dict[str, np.ndarray],
    bars: pd.DataFrame,
    timeframe: str,
    base: pd.DataFrame,
    base_timeframe: str,
) -> dict[str, np.ndarray]:
    """Carry higher-timeframe values onto the base grid from the moment their bar has closed."""
    available = close_times(bars, timeframe).asi8
    decided = close_times(base, base_timeframe).asi8
    # For each base bar: the last higher-timeframe bar that closed no later than the base bar did.
    positions = np.searchsorted(available, decided, side="right") - 1
    joined: dict[str, np.ndarray] = {}
    for name, series in values.items():
        out = np.full(len(base), np.nan)
        valid = positions >= 0
        out[valid] = series[positions[valid]]
        joined[name] = out
    return joined


def _drop_warmup(frame: pd.DataFrame) -> FeatureFrame:
    finite = np.isfinite(frame.to_numpy(dtype=np.float64)).all(axis=1)
    if not finite.any():
        raise DataError(
            f"every one of the {len(frame)} bars has an undefined feature: too few bars for the "
            "indicators' warm-up"
        )
    first = int(np.argmax(finite))
    trimmed = frame.iloc[first:]
    gaps = ~finite[first:]
    if gaps.any():
        bad = trimmed.index[np.argmax(gaps)]
        column = trimmed.columns[~np.isfinite(trimmed.loc[bad].to_numpy(np.float64))][0]
        raise DataError(f"feature {column} is undefined (NaN/inf) at {bad} after the warm-up")
    return FeatureFrame(frame=trimmed, warmup_dropped=first)


def _normalize(values: np.ndarray, column: FeatureColumn, params: Normalization) -> np.ndarray:
    if column.normalization == "none":
        return values
    if column.name not in params:
        raise ValidationError(f"no normalisation parameters for feature {column.name}")
    p = params[column.name]
    if column.normalization == "zscore":
        return (values - p["mean"]) / max(p["std"], NORMALIZATION_EPSILON)
    return (values - p["min"]) / max(p["max"] - p["min"], NORMALIZATION_EPSILON)


def _stack_lags(values: np.ndarray, lookback: int) -> np.ndarray:
    windows = np.lib.stride_tricks.sliding_window_view(values, lookback, axis=0)
    # windows[i, f, k] = values[i + k, f]; lag 0 (the newest bar) comes first.
    return np.ascontiguousarray(windows[:, :, ::-1].transpose(0, 2, 1).reshape(len(windows), -1))
