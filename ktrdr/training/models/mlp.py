"""Feed-forward classifier over one flat feature vector per bar."""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

ACTIVATIONS: dict[str, type[nn.Module]] = {
    "relu": nn.ReLU,
    "tanh": nn.Tanh,
    "gelu": nn.GELU,
    "leaky_relu": nn.LeakyReLU,
    "elu": nn.ELU,
}


class MLPClassifier(nn.Module):
    """Map (batch, n_features) to (batch, n_classes) logits through hidden Linear layers.

    Each hidden layer is Linear -> activation -> Dropout; e.g. hidden_layers (32, 16) on 40
    features builds 40 -> 32 -> 16 -> 3.
    """

    def __init__(
        self,
        n_features: int,
        hidden_layers: Sequence[int],
        *,
        dropout: float,
        activation: str,
        n_classes: int,
    ) -> None:
        super().__init__()
        layers: list[nn.Module] = []
        width = n_features
        for size in hidden_layers:
            layers += [nn.Linear(width, size), ACTIVATIONS[activation](), nn.Dropout(dropout)]
            width = size
        layers.append(nn.Linear(width, n_classes))
        self.network = nn.Sequential(*layers)

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        """Return class logits for a batch of feature rows."""
        return self.network(features)
