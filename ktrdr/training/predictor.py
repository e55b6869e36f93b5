"""Load a model bundle as a predictor: the backtest's view of a trained model."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from ktrdr.errors import ValidationError
from ktrdr.features import LABEL_NAMES, FeaturePipeline
from ktrdr.strategy import StrategyConfig, validate_strategy
from ktrdr.training.bundle import LoadedBundle, load_bundle
from ktrdr.training.evaluation import member_probabilities
from ktrdr.training.models import make_sequences


@dataclass(frozen=True)
class Predictions:
    """Class probabilities (sell, hold, buy) for the bar at each timestamp of ``index``.

    ``probabilities`` (n, 3) is the ensemble's: the mean of ``member_probabilities``
    (members, n, 3), one row block per seed in the bundle's ``seeds`` order.
    """

    index: pd.DatetimeIndex
    probabilities: np.ndarray
    member_probabilities: np.ndarray


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
    def seeds(self) -> list[int | None]:
        """The seed of each ensemble member, in ``member_probabilities`` order."""
        return list(self.bundle.seeds)

    @property
    def timeframes(self) -> list[str]:
        """The timeframes the features need, shortest first."""
        return self.strategy.timeframes()

    def predict(
        self,
        bars: Mapping[str, pd.DataFrame],
        *,
        start: pd.Timestamp | None = None,
        chunk_rows: int | None = None,
        on_chunk: Callable[[int, int], None] | None = None,
    ) -> Predictions:
        """Probabilities for the base bars (one symbol) past the warm-up, or from ``start`` on.

        Features are computed once over all ``bars`` (earlier bars serve as indicator history);
        the model then runs ``chunk_rows`` rows at a time, calling ``on_chunk(done, total)`` after
        each chunk, e.g. to report progress and check for cancellation.
        """
        inputs = self.pipeline.model_inputs(self.pipeline.compute(bars), self.normalization)
        recurrent = self.strategy.model.type != "mlp"
        window = self.strategy.model.lookback - 1 if recurrent else 0
        first = window
        if start is not None:
            first = max(window, int(inputs.index.searchsorted(start, "left")))
        size = len(inputs.index)
        step = chunk_rows or max(1, size - first)
        chunks = []
        for begin in range(first, size, step):
            stop = min(begin + step, size)
            rows = inputs.values[begin - window : stop]
            if recurrent:
                # A copy: the windows are a read-only view, which torch warns about.
                rows = make_sequences(rows, window + 1).copy()
            chunks.append(member_probabilities(self.bundle.members, rows))
            if on_chunk is not None:
                on_chunk(stop - first, size - first)
        members = (
            np.concatenate(chunks, axis=1)
            if chunks
            else np.empty((len(self.bundle.members), 0, len(LABEL_NAMES)))
        )
        return Predictions(
            index=inputs.index[first:],
            probabilities=members.mean(axis=0),
            member_probabilities=members,
        )
