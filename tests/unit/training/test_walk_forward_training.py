"""train_walk_forward on the bundled EURUSD sample: which ensembles train, on what, and how."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from ktrdr.data import DataRepository
from ktrdr.strategy import load_strategy, strategy_to_dict, validate_strategy
from ktrdr.training import walk_forward
from ktrdr.training.dataset import compute_samples
from ktrdr.training.evaluation import prior_log_loss

EXAMPLE = Path(__file__).resolve().parents[3] / "examples/strategies/eurusd_rsi_macd_mlp.yaml"


def _strategy(**evaluation):
    data = strategy_to_dict(load_strategy(EXAMPLE))
    data["model"]["architecture"]["hidden_layers"] = [8]
    data["training"].update({"epochs": 2, "early_stopping": {"patience": 2}})
    data["evaluation"] = evaluation
    return validate_strategy(data)


@pytest.fixture(scope="module")
def bars(tmp_path_factory):
    repository = DataRepository(tmp_path_factory.mktemp("data"))
    return {"EURUSD": {"1h": repository.load("EURUSD", "1h", "2017-04-19", "2017-12-31")}}


def _train(strategy, bars, **kwargs):
    return walk_forward.train_walk_forward(
        strategy, bars, seed=3, device=torch.device("cpu"), audit=False, **kwargs
    )


def test_folds_and_the_final_model_each_get_an_ensemble(bars):
    result = _train(_strategy(folds=3, seeds=2), bars)
    assert [t.fold for t in result.trainings] == [1, 2, 3, None]
    assert [len(o.members) for o in result.outcomes] == [2, 2, 2, 2]
    assert result.seeds == [3, 4]
    final = result.trainings[-1].selection
    assert set(final) == {"train", "validation"}
    # The final model trains on the whole range: its validation part ends at the last sample.
    assert final["validation"].max() == result.samples.n_samples - 1
    accuracy = [fold["test_metrics"]["test_accuracy"] for fold in result.folds]
    assert result.test_metrics["test_accuracy"] == pytest.approx(np.mean(accuracy))


def test_each_fold_reports_its_baselines_and_the_mean_reports_theirs(bars):
    result = _train(_strategy(folds=2, seeds=1), bars)
    for fold, data in zip(result.folds, result.prepared, strict=False):
        metrics = fold["test_metrics"]
        # The prior is the fold's own training frequencies, scored on the fold's OOS labels.
        expected = prior_log_loss(data.labels["train"], data.labels["test"])
        assert metrics["prior_log_loss"] == pytest.approx(expected)
        assert 0.0 <= metrics["balanced_accuracy"] <= 1.0
    for key in ("balanced_accuracy", "prior_log_loss"):
        mean = np.mean([fold["test_metrics"][key] for fold in result.folds])
        assert result.test_metrics[key] == pytest.approx(mean)


def test_each_fold_normalises_on_its_own_training_rows(bars):
    result = _train(_strategy(folds=2, seeds=1), bars)
    first, second = (p.normalization for p in result.prepared[:2])
    assert first != second


def test_rolling_folds_keep_the_initial_span_length(bars):
    strategy = _strategy(folds=3, seeds=1, scheme="rolling")
    samples = compute_samples(strategy, bars, audit=False)
    spans = [
        np.concatenate([t.selection["train"], t.selection["validation"]])
        for t in walk_forward.plan_trainings(samples, strategy)[:-1]
    ]
    assert spans[1].min() > spans[0].min() and spans[2].min() > spans[1].min()


def test_zero_folds_is_the_single_split(bars):
    result = _train(_strategy(folds=0), bars)
    assert (result.scheme, result.folds, result.seeds) == ("single_split", [], [3])
    assert set(result.trainings[0].selection) == {"train", "validation", "test"}


def test_too_large_inputs_train_one_ensemble_at_a_time(bars, monkeypatch):
    monkeypatch.setattr(walk_forward, "BATCHED_INPUT_BYTES", 0)
    progress = []
    result = _train(
        _strategy(folds=2, seeds=2), bars, on_progress=lambda r, d, n: progress.append(d)
    )
    assert [len(o.members) for o in result.outcomes] == [2, 2, 2]
    assert progress == sorted(progress) and progress[-1] == pytest.approx(1.0)


def test_a_stop_request_returns_nothing(bars):
    assert _train(_strategy(folds=2, seeds=2), bars, should_stop=lambda: True) is None
