from __future__ import annotations

import numpy as np
import pytest
import torch
from pydantic import TypeAdapter

from ktrdr.errors import ValidationError
from ktrdr.strategy import MlpArchitecture, RecurrentArchitecture
from ktrdr.strategy.schema import ModelConfig
from ktrdr.training.models import (
    build_model,
    is_recurrent,
    make_sequences,
    model_lookback,
    resolve_architecture,
    sequence_labels,
)


@pytest.mark.parametrize("activation", ["relu", "tanh", "gelu", "leaky_relu", "elu"])
def test_mlp_maps_rows_to_three_logits(activation: str) -> None:
    section = {"type": "mlp", "architecture": {"hidden_layers": [8, 4], "activation": activation}}
    model = build_model(section, n_features=5)
    assert model(torch.zeros(7, 5)).shape == (7, 3)
    widths = [m.out_features for m in model.modules() if isinstance(m, torch.nn.Linear)]
    assert widths == [8, 4, 3]


@pytest.mark.parametrize("cell", ["lstm", "gru", "LSTM"])
@pytest.mark.parametrize(("num_layers", "bidirectional"), [(1, False), (2, True)])
def test_recurrent_maps_windows_to_logits(cell: str, num_layers: int, bidirectional: bool) -> None:
    architecture = {"hidden_size": 6, "num_layers": num_layers, "bidirectional": bidirectional}
    section = {"type": cell, "architecture": architecture, "lookback": 10}
    model = build_model(section, n_features=4, n_classes=3)
    assert model(torch.zeros(5, 10, 4)).shape == (5, 3)
    assert is_recurrent(section)


def test_recurrent_classifies_from_the_windows_last_step() -> None:
    model = build_model({"type": "gru", "architecture": {"hidden_size": 5}}, 2, seed=0).eval()
    windows = torch.randn(1, 6, 2)
    changed = windows.clone()
    changed[0, -1] += 1.0
    assert not torch.allclose(model(windows), model(changed))


def test_defaults_are_the_strategy_schemas() -> None:
    assert resolve_architecture({"type": "mlp"}) == MlpArchitecture().model_dump()
    assert resolve_architecture({"type": "gru"}) == RecurrentArchitecture().model_dump()
    assert model_lookback({"type": "lstm"}) == 1
    assert not is_recurrent({"type": "mlp"})


@pytest.mark.parametrize(
    ("section", "fragment"),
    [
        ({"type": "transformer"}, "model.type"),
        ({"type": "mlp", "layers": 3}, "unknown keys ['layers']"),
        ({"type": "mlp", "architecture": {"hidden_size": 3}}, "unknown keys ['hidden_size']"),
        ({"type": "lstm", "architecture": {"hidden_layers": [3]}}, "unknown keys"),
        ({"type": "mlp", "architecture": {"activation": "swish"}}, "unknown activation 'swish'"),
        ({"type": "mlp", "architecture": {"hidden_layers": []}}, "hidden_layers"),
        ({"type": "mlp", "architecture": {"hidden_layers": [8, 0]}}, "hidden_layers[1]"),
        ({"type": "mlp", "architecture": {"dropout": 1.0}}, "dropout"),
        ({"type": "gru", "architecture": {"num_layers": True}}, "num_layers"),
        ({"type": "gru", "architecture": {"bidirectional": "yes"}}, "bidirectional"),
        ({"type": "lstm", "lookback": 0}, "model.lookback"),
        ({"type": "mlp", "seed": -1}, "model.seed"),
    ],
)
def test_invalid_sections_name_the_field(section: dict, fragment: str) -> None:
    with pytest.raises(ValidationError) as info:
        build_model(section, n_features=3)
    assert fragment in info.value.message


def test_seeded_build_is_reproducible_and_leaves_global_rng_alone() -> None:
    torch.manual_seed(123)
    expected_next = torch.rand(1)
    torch.manual_seed(123)
    first = build_model({"type": "mlp"}, 4, seed=7)
    assert torch.equal(torch.rand(1), expected_next)
    second = build_model({"type": "mlp"}, 4, seed=7)
    for a, b in zip(first.state_dict().values(), second.state_dict().values(), strict=True):
        assert torch.equal(a, b)


def test_windows_are_causal_and_aligned_with_labels() -> None:
    features = np.arange(20, dtype=np.float64).reshape(10, 2)
    labels = np.arange(10)
    windows = make_sequences(features, lookback=4)
    aligned = sequence_labels(labels, lookback=4)
    assert windows.shape == (7, 4, 2)
    assert len(aligned) == len(windows)
    for k, window in enumerate(windows):
        end = aligned[k]
        assert end == k + 3
        np.testing.assert_array_equal(window, features[end - 3 : end + 1])


@pytest.mark.parametrize(
    ("features", "lookback"),
    [(np.zeros((3, 2)), 4), (np.zeros(5), 2), (np.zeros((5, 2)), 0)],
)
def test_make_sequences_rejects_bad_input(features: np.ndarray, lookback: int) -> None:
    with pytest.raises(ValidationError):
        make_sequences(features, lookback)


def test_section_seed_is_used_when_no_seed_is_given() -> None:
    first = build_model({"type": "mlp", "seed": 3}, 4)
    second = build_model({"type": "mlp"}, 4, seed=3)
    for a, b in zip(first.state_dict().values(), second.state_dict().values(), strict=True):
        assert torch.equal(a, b)


@pytest.mark.parametrize("kind", ["mlp", "lstm", "gru"])
def test_a_validated_strategy_model_section_builds(kind: str) -> None:
    section = TypeAdapter(ModelConfig).validate_python({"type": kind, "lookback": 3, "seed": 1})
    model = build_model(section.model_dump(), n_features=4)
    inputs = torch.zeros(2, 4) if kind == "mlp" else torch.zeros(2, 3, 4)
    assert model(inputs).shape == (2, 3)
