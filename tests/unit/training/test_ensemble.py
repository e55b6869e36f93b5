"""Seed ensembles trained together as one batched module."""

from __future__ import annotations

import copy

import numpy as np
import pytest
import torch

from ktrdr.errors import ValidationError
from ktrdr.training import (
    EpochReport,
    TrainerConfig,
    build_model,
    make_sequences,
    sequence_labels,
)
from ktrdr.training.ensemble import MemberData, train_ensemble
from ktrdr.training.evaluation import evaluate_probabilities, member_probabilities
from ktrdr.training.losses import class_weights_from_labels, make_loss

MLP = {"type": "mlp", "architecture": {"hidden_layers": [16], "dropout": 0.1}}
GRU = {"type": "gru", "architecture": {"hidden_size": 8}, "lookback": 2}
LSTM = {"type": "lstm", "architecture": {"hidden_size": 8}, "lookback": 2}
NO_DROPOUT = {"type": "mlp", "architecture": {"hidden_layers": [16], "dropout": 0.0}}


def _data(splits) -> MemberData:
    (x, y), (xv, yv) = splits["train"], splits["val"]
    return MemberData(x, y, xv, yv)


def _train(data, seeds, *, section=MLP, groups=None, on_epoch=None, should_stop=None, **config):
    members = [build_model(section, data[0].x_train.shape[-1], 3, seed=s) for s in seeds]
    settings = {"epochs": 6, "patience": 3, "seed": 5, **config}
    return train_ensemble(
        members, data, TrainerConfig(**settings), seeds=seeds, data_of_member=groups,
        on_epoch=on_epoch, should_stop=should_stop,
    )  # fmt: skip


def _flipped(splits) -> MemberData:
    """Validation labels sell <-> buy: the better a member fits, the worse validation gets."""
    (x, y), (xv, yv) = splits["train"], splits["val"]
    return MemberData(x, y, xv, 2 - yv)


def _val_loss(model, data: MemberData, *, class_weights: bool = True) -> float:
    weights = class_weights_from_labels(data.y_train) if class_weights else None
    with torch.no_grad():
        logits = model(torch.from_numpy(data.x_val))
    return make_loss("cross_entropy", class_weights=weights)(
        logits, torch.from_numpy(data.y_val)
    ).item()


def _reference(data: MemberData, config: TrainerConfig, seed: int):
    """One network trained by a plain torch loop: Adam, clip_grad_norm_, torch's schedulers.

    Returns its per-epoch train losses, validation losses, learning rates and weights.
    """
    model = build_model(NO_DROPOUT, 6, 3, seed=seed)
    weights = class_weights_from_labels(data.y_train) if config.class_weights else None
    criterion = make_loss(config.loss, focal_gamma=config.focal_gamma, class_weights=weights)
    optimizer = torch.optim.Adam(model.parameters(), lr=config.learning_rate)
    scheduler = None
    if config.lr_schedule == "plateau":
        patience = max(1, (config.patience or 2) // 2)
        scheduler = torch.optim.lr_scheduler.ReduceLROnPlateau(
            optimizer, factor=0.5, patience=patience
        )
    elif config.lr_schedule == "cosine":
        scheduler = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=config.epochs)
    x, y = torch.from_numpy(data.x_train), torch.from_numpy(data.y_train)
    x_val, y_val = torch.from_numpy(data.x_val), torch.from_numpy(data.y_val)
    generator = torch.Generator().manual_seed(seed)
    trace = {"train_loss": [], "val_loss": [], "learning_rate": [], "weights": []}
    for _ in range(config.epochs):
        trace["learning_rate"].append(optimizer.param_groups[0]["lr"])
        order = torch.randperm(len(x), generator=generator)
        total = 0.0
        for start in range(0, len(x), config.batch_size):
            rows = order[start : start + config.batch_size]
            optimizer.zero_grad()
            loss = criterion(model(x[rows]), y[rows])
            loss.backward()
            if config.grad_clip_norm is not None:
                torch.nn.utils.clip_grad_norm_(model.parameters(), config.grad_clip_norm)
            optimizer.step()
            total += loss.item() * len(rows)
        with torch.no_grad():
            val_loss = criterion(model(x_val), y_val).item()
        trace["train_loss"].append(total / len(x))
        trace["val_loss"].append(val_loss)
        trace["weights"].append(copy.deepcopy(model.state_dict()))
        if isinstance(scheduler, torch.optim.lr_scheduler.ReduceLROnPlateau):
            scheduler.step(val_loss)
        elif scheduler is not None:
            scheduler.step()
    return trace


@pytest.mark.parametrize(
    ("changes", "flip"),
    [
        ({}, False),
        ({"grad_clip_norm": 0.05, "class_weights": False}, False),
        ({"loss": "focal", "focal_gamma": 2.0}, False),
        ({"lr_schedule": "plateau"}, True),
        ({"lr_schedule": "cosine"}, False),
    ],
    ids=["defaults", "tight-clip-unweighted", "focal", "plateau", "cosine"],
)
def test_one_member_trains_like_a_plain_torch_loop(splits, changes: dict, flip: bool):
    data = _flipped(splits) if flip else _data(splits)
    config = TrainerConfig(epochs=5, learning_rate=0.01, patience=None, **changes)
    expected = _reference(data, config, seed=3)
    reports: list[EpochReport] = []
    member = build_model(NO_DROPOUT, 6, 3, seed=3)
    outcome = train_ensemble([member], [data], config, seeds=[3], on_epoch=reports.append)
    history = outcome.outcomes[0].history
    assert history["train_loss"] == pytest.approx(expected["train_loss"], rel=1e-4)
    assert history["val_loss"] == pytest.approx(expected["val_loss"], rel=1e-4)
    assert [r.learning_rate for r in reports] == pytest.approx(expected["learning_rate"])
    best = expected["weights"][outcome.outcomes[0].best_epoch - 1]
    for name, value in member.state_dict().items():
        torch.testing.assert_close(value, best[name], rtol=1e-4, atol=1e-5)


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
    assert set(metrics) == {
        *("test_accuracy", "test_loss", "balanced_accuracy"),
        *("precision", "recall", "f1", "per_class", "confusion"),
    }


def test_cpu_runs_are_bit_reproducible(splits):
    first = _train([_data(splits)], [3, 4], groups=[0, 0])
    second = _train([_data(splits)], [3, 4], groups=[0, 0])
    assert all(
        torch.equal(a, b)
        for x, y in zip(_weights(first), _weights(second), strict=True)
        for a, b in zip(x, y, strict=True)
    )
    assert [o.history for o in first.outcomes] == [o.history for o in second.outcomes]
    other_dropout = _train([_data(splits)], [3, 4], groups=[0, 0], seed=6)
    assert [o.history for o in other_dropout.outcomes] != [o.history for o in first.outcomes]


def test_deterministic_kernels_are_only_forced_while_training(splits):
    assert not torch.are_deterministic_algorithms_enabled()
    seen = []
    _train([_data(splits)], [0], epochs=1, on_epoch=lambda _: seen.append(
        torch.are_deterministic_algorithms_enabled()
    ))  # fmt: skip
    assert seen == [True] and not torch.are_deterministic_algorithms_enabled()


def test_every_epoch_is_reported_with_the_rate_it_used(splits):
    reports: list[EpochReport] = []
    outcome = _train([_data(splits)], [0], epochs=25, learning_rate=0.01, on_epoch=reports.append)
    member = outcome.outcomes[0]
    assert [r.epoch for r in reports] == list(range(1, outcome.epochs_run + 1))
    assert {(r.epochs, r.learning_rate) for r in reports} == {(25, 0.01)}
    assert [r.val_loss for r in reports] == member.history["val_loss"]
    assert [r.train_loss for r in reports] == member.history["train_loss"]
    assert member.history["train_loss"][-1] < member.history["train_loss"][0]
    assert not outcome.stopped and not outcome.members[0].training


def test_early_stopping_waits_exactly_patience_epochs_and_restores_the_best(splits):
    data = _flipped(splits)
    outcome = _train([data], [0], epochs=40, learning_rate=0.01, patience=4)
    member = outcome.outcomes[0]
    assert member.epochs_run == outcome.epochs_run == member.best_epoch + 4 < 40
    losses = member.history["val_loss"]
    assert min(losses) == losses[member.best_epoch - 1] == member.best_val_loss
    restored = _val_loss(outcome.members[0], data)
    assert restored == pytest.approx(member.best_val_loss, rel=1e-5)
    assert restored != pytest.approx(losses[-1], rel=1e-3)


def test_min_delta_ignores_improvements_smaller_than_it(splits):
    plain = _train([_data(splits)], [0], epochs=8, learning_rate=0.01, patience=2)
    assert plain.outcomes[0].best_epoch > 1  # this data keeps improving
    strict = _train([_data(splits)], [0], epochs=8, learning_rate=0.01, patience=2, min_delta=5.0)
    assert strict.outcomes[0].best_epoch == 1 and strict.epochs_run == 3


def test_without_patience_every_epoch_runs(splits):
    outcome = _train([_flipped(splits)], [0], epochs=6, patience=None)
    assert outcome.epochs_run == outcome.outcomes[0].epochs_run == 6
    assert outcome.outcomes[0].best_epoch < 6  # its best weights are still restored


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


@pytest.mark.parametrize("section", [GRU, LSTM], ids=["gru", "lstm"])
def test_recurrent_members_train_too(splits, section):
    (x, y), (xv, yv) = splits["train"], splits["val"]
    data = MemberData(
        make_sequences(x, 2), sequence_labels(y, 2), make_sequences(xv, 2), sequence_labels(yv, 2)
    )
    outcome = _train([data], [0, 1], section=section, groups=[0, 0], epochs=3)
    assert outcome.epochs_run == 3
    assert member_probabilities(outcome.members, data.x_val).shape == (2, len(data.x_val), 3)


def test_cancellation_mid_epoch_stops_at_once_and_keeps_the_initial_weights(splits):
    calls = []

    def should_stop() -> bool:
        calls.append(1)
        return len(calls) == 3

    initial = [build_model(MLP, 6, 3, seed=s).state_dict() for s in (0, 1)]
    outcome = _train([_data(splits)], [0, 1], groups=[0, 0], should_stop=should_stop)
    assert outcome.stopped and len(calls) == 3 and outcome.epochs_run == 0
    for member, weights in zip(outcome.outcomes, outcome.members, strict=True):
        assert member.best_epoch is None and member.best_val_loss is None
        assert member.history["train_loss"] == [] and not weights.training
    for before, after in zip(initial, outcome.members, strict=True):
        assert all(torch.equal(before[k], v) for k, v in after.state_dict().items())


def test_cancellation_in_a_later_epoch_keeps_the_finished_ones(splits):
    batches_per_epoch = 480 // 32
    calls = []

    def should_stop() -> bool:
        calls.append(1)
        return len(calls) > batches_per_epoch + 2

    outcome = _train([_data(splits)], [0], batch_size=32, should_stop=should_stop)
    member = outcome.outcomes[0]
    assert outcome.stopped and outcome.epochs_run == member.epochs_run == 1
    assert member.best_epoch == 1 and len(member.history["val_loss"]) == 1


def test_class_weights_shift_predictions_towards_a_rare_class(make_separable):
    features, labels = make_separable(600, seed=4)
    keep = (labels != 0) | (np.arange(len(labels)) % 8 == 0)  # sell becomes rare
    data = MemberData(features[keep], labels[keep], features[keep], labels[keep])
    predicted_sells = {}
    for weighted in (False, True):
        outcome = _train([data], [0], epochs=5, learning_rate=0.01, class_weights=weighted)
        probabilities = member_probabilities(outcome.members, data.x_train)[0]
        predicted_sells[weighted] = int((probabilities.argmax(1) == 0).sum())
    assert predicted_sells[True] > predicted_sells[False]


@pytest.mark.parametrize(
    ("field", "replace", "fragment"),
    [
        ("x_train", lambda x: x[:0], "group 1 x_train: empty"),
        ("x_val", lambda x: np.where(x > 2, np.nan, x), "group 1 x_val: contains NaN"),
        ("y_train", lambda y: y + 1, "group 1 y_train: labels must be class indices"),
        ("y_val", lambda y: y[:-1], "group 1 y_val: expected 160 labels"),
    ],
)
def test_bad_arrays_are_named_with_their_group(splits, field: str, replace, fragment: str):
    good = _data(splits)
    bad = MemberData(**{**vars(good), field: replace(getattr(good, field))})
    with pytest.raises(ValidationError, match=fragment):
        _train([good, bad], [0, 1], groups=[0, 1], epochs=1)


def test_divergence_names_the_member_and_the_learning_rate(splits):
    (x, y), val = splits["train"], splits["val"]
    exploding = MemberData(x * np.float32(3e37), y, *val)
    with pytest.raises(ValidationError, match=r"diverged.*seed 7.*learning_rate=0\.001"):
        _train([exploding], [7], epochs=2)


def test_members_end_on_the_requested_device(splits):
    members = [build_model(MLP, 6, 3, seed=0)]
    train_ensemble(members, [_data(splits)], TrainerConfig(epochs=1), seeds=[0], device="cpu")
    assert {p.device for p in members[0].parameters()} == {torch.device("cpu")}


def test_mismatched_seeds_are_refused(splits):
    with pytest.raises(ValidationError, match="2 members need as many seeds"):
        _train([_data(splits)], [0, 1], groups=[0])
