"""The backtest job's building blocks: warm-up history and chunked predictions."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from support.bars import random_walk_bars
from support.strategies import make_strategy

from ktrdr.backtesting.inputs import backtest_bars, history_bars, warmup_rows
from ktrdr.data import DataRepository
from ktrdr.features.builder import FeaturePipeline
from ktrdr.strategy import strategy_to_dict
from ktrdr.strategy.schema import StrategyConfig
from ktrdr.training.bundle import save_bundle
from ktrdr.training.models import build_model
from ktrdr.training.predictor import Predictor

INDICATORS = {
    "rsi_14": {"type": "rsi", "period": 14},
    "ema_30": {"type": "ema", "period": 30},
}
INPUTS = [
    {"fuzzy_set": "rsi_zone", "timeframes": "all"},
    {"raw_indicator": "ema_30", "timeframes": "all", "normalization": "zscore"},
]
FUZZY = {"rsi_zone": {"indicator": "rsi_14", "low": [0, 20, 40], "high": [60, 80, 100]}}


def strategy_for(model: dict, timeframes: list[str] | None = None) -> StrategyConfig:
    return make_strategy(
        INDICATORS, INPUTS, fuzzy_sets=FUZZY, model=model, timeframes=timeframes, symbol="SYN"
    )


def untrained_predictor(strategy: StrategyConfig, bars: dict, folder: Path) -> Predictor:
    """A valid bundle with seeded random weights: predictions are arbitrary but deterministic."""
    pipeline = FeaturePipeline(strategy)
    section = strategy.model.model_dump(exclude={"seed"})
    n_features = len(pipeline.feature_names)  # lag-stacked for an MLP, per bar for an LSTM
    model = build_model(section, n_features, seed=1)
    save_bundle(
        folder,
        [model],
        seeds=[1],
        model_section=section,
        n_features=n_features,
        metadata={
            "strategy": strategy_to_dict(strategy),
            "feature_names": pipeline.feature_names,
            "normalization": pipeline.fit_normalization(pipeline.compute(bars).frame),
            "symbols": ["SYN"],
            "timeframes": strategy.timeframes(),
            "training_range": {
                "start": "2019-01-01T00:00:00+00:00",
                "end": "2019-06-01T00:00:00+00:00",
            },
        },
    )
    return Predictor.load(folder)


MODELS = {
    "mlp_lookback_3": {"type": "mlp", "architecture": {"hidden_layers": [8]}, "lookback": 3},
    "lstm_lookback_4": {"type": "lstm", "architecture": {"hidden_size": 8}, "lookback": 4},
}


@pytest.mark.parametrize("model", MODELS.values(), ids=MODELS.keys())
@pytest.mark.parametrize("chunk_rows", [1, 7, 10_000])
def test_chunked_predictions_from_a_start_equal_one_full_prediction(
    tmp_path: Path, model: dict, chunk_rows: int
) -> None:
    bars = {"1h": random_walk_bars(700)}
    predictor = untrained_predictor(strategy_for(model), bars, tmp_path / "bundle")
    full = predictor.predict(bars)
    start = bars["1h"].index[450]  # after the 271-bar warm-up of EMA 30
    calls: list[tuple[int, int]] = []

    chunked = predictor.predict(
        bars, start=start, chunk_rows=chunk_rows, on_chunk=lambda d, t: calls.append((d, t))
    )

    assert chunked.index[0] == start
    expected = full.index >= start
    pd.testing.assert_index_equal(chunked.index, full.index[expected])
    np.testing.assert_allclose(chunked.probabilities, full.probabilities[expected], atol=1e-6)
    assert calls[-1] == (250, 250)
    assert len(calls) == -(-250 // chunk_rows)


def test_a_start_inside_the_warm_up_predicts_from_the_first_ready_bar(tmp_path: Path) -> None:
    bars = {"1h": random_walk_bars(500)}
    predictor = untrained_predictor(strategy_for(MODELS["lstm_lookback_4"]), bars, tmp_path / "b")
    chunked = predictor.predict(bars, start=bars["1h"].index[0])
    full = predictor.predict(bars)
    pd.testing.assert_index_equal(chunked.index, full.index)
    assert len(chunked.index) == 500 - 271 - 3  # EMA 30 is NaN for 271 bars; 4-bar windows


def test_history_is_the_warm_up_times_a_safety_factor_with_a_floor() -> None:
    assert warmup_rows(strategy_for({"type": "mlp", "lookback": 1})) == 271 + 1  # EMA 30 + lookback
    small = make_strategy({"sma_20": {"type": "sma", "period": 20}}, [{"raw_indicator": "sma_20"}])
    assert warmup_rows(small) == 19 + 1
    assert history_bars(small) == 200
    slow = make_strategy(
        {"sma_100": {"type": "sma", "period": 100}}, [{"raw_indicator": "sma_100"}]
    )
    assert history_bars(slow) == 5 * (warmup_rows(slow))


def test_backtest_bars_carry_history_before_the_start_for_every_timeframe(tmp_path: Path) -> None:
    repository = DataRepository(tmp_path / "data", bundled=False)
    source = tmp_path / "syn.parquet"
    random_walk_bars(8_000).to_parquet(source)
    repository.import_file(source, "SYN", "1h")
    strategy = strategy_for({"type": "mlp"}, timeframes=["1h", "4h"])
    full = repository.load("SYN", "1h")
    start, end = full.index[6_500], full.index[7_000]

    loaded = backtest_bars(
        {tf: repository.load("SYN", tf) for tf in ("1h", "4h")}, strategy, start, end
    )

    keep = history_bars(strategy)
    assert loaded["1h"].index[0] == full.index[6_500 - keep]
    assert loaded["1h"].index[-1] == end
    four_hourly = repository.load("SYN", "4h", None, end)
    first = four_hourly.index.searchsorted(start)
    assert loaded["4h"].index[0] == four_hourly.index[first - keep]
    assert (loaded["4h"].index <= end).all()
