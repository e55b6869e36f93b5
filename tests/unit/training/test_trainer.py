from __future__ import annotations

import numpy as np
import pytest
import torch

from ktrdr.errors import ValidationError
from ktrdr.training.models import build_model, make_sequences, sequence_labels
from ktrdr.training.trainer import EpochReport, TrainerConfig, train_model

SECTION = {"type": "mlp", "architecture": {"hidden_layers": [16, 8], "dropout": 0.1}}


def weights_of(model: torch.nn.Module) -> dict[str, torch.Tensor]:
    return {k: v.detach().clone() for k, v in model.state_dict().items()}


def same_weights(a: dict[str, torch.Tensor], b: dict[str, torch.Tensor]) -> bool:
    return a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)


def run(splits, config: TrainerConfig, *, seed: int = 0, **kwargs):
    model = build_model(SECTION, n_features=6, seed=seed)
    (x_train, y_train), (x_val, y_val) = splits["train"], splits["val"]
    return model, train_model(model, x_train, y_train, x_val, y_val, config, **kwargs)


def test_learns_separable_data_and_reports_every_epoch(splits) -> None:
    reports: list[EpochReport] = []
    model, outcome = run(
        splits, TrainerConfig(epochs=25, learning_rate=0.01), on_epoch=reports.append
    )
    assert outcome.history["val_accuracy"][outcome.best_epoch - 1] > 0.85
    assert outcome.history["train_loss"][-1] < outcome.history["train_loss"][0]
    assert [r.epoch for r in reports] == list(range(1, outcome.epochs_run + 1))
    assert reports[0].epochs == 25 and reports[0].learning_rate == 0.01
    assert [r.val_loss for r in reports] == outcome.history["val_loss"]
    assert outcome.final_train_loss == outcome.history["train_loss"][-1]
    assert not outcome.stopped and not model.training


def test_same_seed_gives_identical_history_and_weights(splits) -> None:
    config = TrainerConfig(epochs=4, seed=5)
    first_model, first = run(splits, config)
    second_model, second = run(splits, config)
    _, other = run(splits, TrainerConfig(epochs=4, seed=6))
    assert first.history == second.history
    assert same_weights(weights_of(first_model), weights_of(second_model))
    assert other.history != first.history


def test_restores_an_independent_copy_of_the_best_epochs_weights(splits) -> None:
    x_val, y_val = splits["val"]
    flipped = 2 - y_val  # sell <-> buy: the better the model fits, the worse validation gets
    model = build_model(SECTION, n_features=6, seed=0)
    per_epoch: list[dict[str, torch.Tensor]] = []
    x_train, y_train = splits["train"]
    outcome = train_model(
        model, x_train, y_train, x_val, flipped,
        TrainerConfig(epochs=30, learning_rate=0.01, patience=3),
        on_epoch=lambda report: per_epoch.append(weights_of(model)),
    )  # fmt: skip
    assert outcome.best_epoch < outcome.epochs_run
    final = weights_of(model)
    assert same_weights(final, per_epoch[outcome.best_epoch - 1])
    assert not same_weights(final, per_epoch[-1])


def test_early_stopping_waits_exactly_patience_epochs(splits) -> None:
    x_val, y_val = splits["val"]
    splits = {**splits, "val": (x_val, 2 - y_val)}
    _, outcome = run(splits, TrainerConfig(epochs=40, learning_rate=0.01, patience=4))
    assert outcome.epochs_run == outcome.best_epoch + 4 < 40
    losses = outcome.history["val_loss"]
    assert min(losses) == losses[outcome.best_epoch - 1]


def test_without_patience_all_epochs_run(splits) -> None:
    x_val, y_val = splits["val"]
    splits = {**splits, "val": (x_val, 2 - y_val)}
    _, outcome = run(splits, TrainerConfig(epochs=6, patience=None))
    assert outcome.epochs_run == 6


def test_should_stop_ends_training_mid_epoch(splits) -> None:
    calls = []

    def should_stop() -> bool:
        calls.append(1)
        return len(calls) == 3

    _, outcome = run(splits, TrainerConfig(epochs=5, batch_size=32), should_stop=should_stop)
    assert outcome.stopped and len(calls) == 3
    assert outcome.epochs_run == 0 and outcome.best_epoch is None
    assert outcome.final_train_loss is None


def test_stop_in_a_later_epoch_keeps_finished_epochs(splits) -> None:
    batches_per_epoch = 480 // 32
    calls = []

    def should_stop() -> bool:
        calls.append(1)
        return len(calls) > batches_per_epoch + 2

    model, outcome = run(splits, TrainerConfig(epochs=5, batch_size=32), should_stop=should_stop)
    assert outcome.stopped and outcome.epochs_run == 1 and outcome.best_epoch == 1
    assert len(outcome.history["val_loss"]) == 1 and not model.training


@pytest.mark.parametrize(
    "config",
    [
        TrainerConfig(epochs=3, loss="focal", focal_gamma=2.0),
        TrainerConfig(epochs=3, class_weights=False, grad_clip_norm=None),
        TrainerConfig(epochs=3, lr_schedule="plateau", patience=2),
        TrainerConfig(epochs=3, lr_schedule="cosine"),
    ],
)
def test_loss_and_schedule_variants_train(splits, config: TrainerConfig) -> None:
    rates: list[float] = []
    _, outcome = run(splits, config, on_epoch=lambda r: rates.append(r.learning_rate))
    assert outcome.epochs_run == 3
    assert all(np.isfinite(outcome.history["val_loss"]))
    if config.lr_schedule == "cosine":
        assert rates[0] > rates[1] > rates[2] > 0


def test_class_weights_shift_predictions_towards_a_rare_class(make_separable) -> None:
    features, labels = make_separable(600, seed=4)
    keep = (labels != 0) | (np.arange(len(labels)) % 8 == 0)  # sell becomes rare
    features, labels = features[keep], labels[keep]
    predicted_sells = {}
    for weighted in (False, True):
        model = build_model(SECTION, n_features=6, seed=0)
        config = TrainerConfig(epochs=5, learning_rate=0.01, class_weights=weighted)
        train_model(model, features, labels, features, labels, config)
        with torch.no_grad():
            predicted_sells[weighted] = int(
                (model(torch.from_numpy(features)).argmax(1) == 0).sum()
            )
    assert predicted_sells[True] > predicted_sells[False]


@pytest.mark.parametrize("cell", ["lstm", "gru"])
def test_recurrent_models_train_on_windows(make_separable, cell: str) -> None:
    features, labels = make_separable(200, n_features=3, seed=7)
    windows, aligned = make_sequences(features, 5), sequence_labels(labels, 5)
    section = {"type": cell, "architecture": {"hidden_size": 8}, "lookback": 5}
    model = build_model(section, n_features=3, seed=0)
    outcome = train_model(
        model, windows[:150], aligned[:150], windows[150:], aligned[150:], TrainerConfig(epochs=2)
    )
    assert outcome.epochs_run == 2


@pytest.mark.parametrize(
    ("changes", "fragment"),
    [
        ({"epochs": 0}, "epochs must be >= 1"),
        ({"learning_rate": 0.0}, "learning_rate must be > 0"),
        ({"patience": 0}, "patience"),
        ({"loss": "hinge"}, "loss must be one of"),
        ({"lr_schedule": "step"}, "lr_schedule"),
        ({"grad_clip_norm": -1.0}, "grad_clip_norm"),
    ],
)
def test_config_rejects_bad_values(changes: dict, fragment: str) -> None:
    with pytest.raises(ValidationError, match=fragment):
        TrainerConfig(**changes)


def test_config_is_keyword_only_and_frozen() -> None:
    with pytest.raises(TypeError):
        TrainerConfig(10)  # type: ignore[misc]
    with pytest.raises(AttributeError):
        TrainerConfig().epochs = 3  # type: ignore[misc]


@pytest.mark.parametrize(
    ("split", "replace", "fragment"),
    [
        ("train", lambda x, y: (x[:0], y[:0]), "X_train: empty"),
        ("val", lambda x, y: (np.where(x > 2, np.nan, x), y), "X_val: contains NaN"),
        ("train", lambda x, y: (x, y + 1), "y_train: labels must be class indices"),
        ("val", lambda x, y: (x, y[:-1]), "y_val: expected 160 labels"),
    ],
)
def test_bad_arrays_are_named(splits, split: str, replace, fragment: str) -> None:
    splits = {**splits, split: replace(*splits[split])}
    with pytest.raises(ValidationError, match=fragment):
        run(splits, TrainerConfig(epochs=1))


def test_divergence_is_reported_not_hidden(splits) -> None:
    x_train, y_train = splits["train"]
    splits = {**splits, "train": (x_train * np.float32(3e37), y_train)}
    with pytest.raises(ValidationError, match="training diverged"):
        run(splits, TrainerConfig(epochs=2))
