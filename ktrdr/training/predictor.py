"""Load a model bundle as a predictor: the backtest's view of a trained model."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from ktrdr.errors import ValidationError
from ktrdr.features.builder import FeaturePipeline
from ktrdr.strategy import validate_strategy
from ktrdr.strategy.schema import StrategyConfig
from ktrdr.training.bundle import LoadedBundle, load_bundle
from ktrdr.training.evaluation import predict_proba
from ktrdr.training.models import make_sequences


@dataclass(frozen=True)
class Predictions:
    """Class probabilities (sell, hold, buy) for the bar at each timestamp of ``index``."""

    index: pd.DatetimeIndex
    probabilities: np.ndarray


class Predictor:
    """A trained model plus the exact feature pipeline and normalisation it was trained with."""

    def __init__(self, bundle: LoadedBundle) -> None:
        self.bundle = bundle
        metadata = bundle.metadata
        self.strategy: StrategyConfig = validate_strategy(
            metadata["strategy"], source=f"{bundle.path}/bundle.json"
        )
        self.pipeline = FeaturePipeline(self.strategy)
        self.feature_names: list[str] = list(metadata["feature_names"])
        if self.pipeline.feature_names != self.feature_names:
            raise ValidationError(
                f"{bundle.path}: the feature pipeline produces {self.pipeline.feature_names}, "
                f"the model was trained on {self.feature_names}"
            )
        self.normalization = metadata["normalization"]
        self.training_range = (
            pd.Timestamp(metadata["training_range"]["start"]),
            pd.Timestamp(metadata["training_range"]["end"]),
        )

    @classmethod
    def load(cls, path: str | Path) -> Predictor:
        """The predictor of the bundle in folder ``path`` (never unpickles)."""
        return cls(load_bundle(Path(path)))

    @property
    def symbols(self) -> list[str]:
        """The symbols the model was trained on."""
        return list(self.bundle.metadata["symbols"])

    @property
    def timeframes(self) -> list[str]:
        """The timeframes the features need, shortest first."""
        return self.strategy.timeframes()

    def predict(self, bars: Mapping[str, pd.DataFrame]) -> Predictions:
        """Probabilities for every base bar past the warm-up (bars by timeframe, one symbol)."""
        features = self.pipeline.compute(bars)
        inputs = self.pipeline.model_inputs(features, self.normalization)
        values, index = inputs.values, inputs.index
        if self.strategy.model.type != "mlp":
            lookback = self.strategy.model.lookback
            values, index = make_sequences(values, lookback), index[lookback - 1 :]
        return Predictions(index=index, probabilities=predict_proba(self.bundle.model, values))
