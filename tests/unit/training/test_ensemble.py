"""Seed ensembles trained together as one batched module."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from ktrdr.errors import ValidationError
from ktrdr.training import TrainerConfig, build_model, make_sequences, sequence_labels
from ktrdr.training.ensemble import MemberData, train_ensemble
from ktrdr.training.evaluation import evaluate_probabilities, member_probabilities
from ktrdr.training.losses import class_weights_from_labels

MLP = {"type": "mlp", "architecture": {"hidden_layers": [16], "dropout": 0.1}}
GRU = {"type": "gru", "architecture": {"hidden_size": 8}, "lookback": 2}


def _data(splits) -> MemberData:
    (x, y), (xv, yv) = splits["train"], splits["val"]
    return MemberData(x, y, xv, yv)


def _train(data, seeds, *, section=MLP, groups=None, **config):
    members = [build_model(section, data[0].x_train.shape[-1], 3, seed=s) for s in seeds]
    settings = {"epochs": 6, "patience": 3, "seed": 5, **config}
    return train_ensemble(
        members, data, TrainerConfig(**settings), seeds=seeds, data_of_member=groups
    )


def _weights(outcome) -> list[list[torch.Tensor]]:
    return [list(m.state_dict().values()) for m in outcome.members]


def test_members_start_from_their_own_seed_and_end_different(splits):
    outcome = _train([_data(splits)], [0, 1, 2], groups=[0, 0, 0], epochs=25, learning_rate=0.01)
    first, second, _ = _weights(outcome)
    assert not torch.equal(first[0], second[0])
    assert [o.seed for o in outcome.outcomes] == [0, 1, 2]
    for member in outcome.outcomes:
        assert member.history["val_accuracy"][member.best_epoch - 1] > 0.85


def test_ensemble_prediction_is_the_mean_of_member_probabilities(splits):
    outcome = _train([_data(splits)], [0, 1, 2], groups=[0, 0, 0])
    x_test, y_test = splits["test"]
    probabilities = member_probabilities(outcome.members, x_test)
    assert probabilities.shape == (3, len(x_test), 3)
    mean = probabilities.mean(axis=0)
    metrics = evaluate_probabilities(mean, y_test)
    assert metrics["test_accuracy"] == pytest.approx(float((mean.argmax(1) == y_test).mean()))
    expected_loss = -np.log(mean[np.arange(len(y_test)), y_test]).mean()
    assert metrics["test_loss"] == pytest.approx(expected_loss, rel=1e-6)
    assert set(metrics) == {"test_accuracy", "test_loss", "precision", "recall", "f1", "per_class"}


def test_cpu_runs_are_bit_reproducible(splits):
    first = _weights(_train([_data(splits)], [3, 4], groups=[0, 0]))
    second = _weights(_train([_data(splits)], [3, 4], groups=[0, 0]))
    assert all(
        torch.equal(a, b)
        for x, y in zip(first, second, strict=True)
        for a, b in zip(x, y, strict=True)
    )


def test_each_member_stops_on_its_own_patience_and_keeps_its_best_weights(splits, make_separable):
    learnable = _data(splits)
    x, _ = make_separable(480, seed=7)
    noise = MemberData(x, np.random.default_rng(0).integers(0, 3, 480), *splits["val"])
    outcome = _train(
        [learnable, noise], [0, 1], groups=[0, 1], epochs=40, patience=2, learning_rate=0.01
    )
    learner, guesser = outcome.outcomes
    assert guesser.epochs_run < learner.epochs_run == outcome.epochs_run
    assert guesser.epochs_run - guesser.best_epoch == 2
    # The restored weights are the best epoch's: their validation loss is the best one.
    model = outcome.members[1]
    logits = model(torch.from_numpy(splits["val"][0]))
    weights = torch.as_tensor(class_weights_from_labels(noise.y_train), dtype=torch.float32)
    loss = torch.nn.functional.cross_entropy(
        logits, torch.from_numpy(splits["val"][1]), weight=weights
    )
    assert loss.item() == pytest.approx(guesser.best_val_loss, rel=1e-5)


def test_members_of_different_groups_see_their_own_rows(splits):
    half = MemberData(splits["train"][0][:200], splits["train"][1][:200], *splits["val"])
    outcome = _train([_data(splits), half], [0, 0], groups=[0, 1], patience=None)
    full, short = _weights(outcome)
    assert not torch.equal(full[0], short[0])  # same seed, different rows


def test_recurrent_members_train_too(splits):
    (x, y), (xv, yv) = splits["train"], splits["val"]
    data = MemberData(
        make_sequences(x, 2), sequence_labels(y, 2), make_sequences(xv, 2), sequence_labels(yv, 2)
    )
    outcome = _train([data], [0, 1], section=GRU, groups=[0, 0], epochs=3)
    assert outcome.epochs_run == 3
    assert member_probabilities(outcome.members, data.x_val).shape == (2, len(data.x_val), 3)


def test_cancellation_stops_at_once(splits):
    members = [build_model(MLP, 6, 3, seed=s) for s in (0, 1)]
    outcome = train_ensemble(
        members, [_data(splits)], TrainerConfig(epochs=5), seeds=[0, 1],
        data_of_member=[0, 0], should_stop=lambda: True,
    )  # fmt: skip
    assert outcome.stopped and outcome.epochs_run == 0


def test_mismatched_seeds_are_refused(splits):
    with pytest.raises(ValidationError, match="2 members need as many seeds"):
        _train([_data(splits)], [0, 1], groups=[0])
