"""LSTM / GRU classifier over a causal window of the last ``lookback`` bars."""

from __future__ import annotations

import torch
from torch import nn

RECURRENT_CELLS: dict[str, type[nn.RNNBase]] = {"lstm": nn.LSTM, "gru": nn.GRU}


class RecurrentClassifier(nn.Module):
    """Map (batch, lookback, n_features) windows to (batch, n_classes) logits.

    The class is read from the final hidden state of the top layer, i.e. after the window's last
    bar; when bidirectional, the backward direction's final state (which has read the whole
    window) is concatenated. Dropout applies between stacked layers (when num_layers > 1) and
    before the output layer.
    """

    def __init__(
        self,
        cell: str,
        n_features: int,
        *,
        hidden_size: int,
        num_layers: int,
        dropout: float,
        bidirectional: bool,
        n_classes: int,
    ) -> None:
        super().__init__()
        self.rnn = RECURRENT_CELLS[cell](
            input_size=n_features,
            hidden_size=hidden_size,
            num_layers=num_layers,
            dropout=dropout if num_layers > 1 else 0.0,
            bidirectional=bidirectional,
            batch_first=True,
        )
        self.bidirectional = bidirectional
        self.dropout = nn.Dropout(dropout)
        self.head = nn.Linear(hidden_size * (2 if bidirectional else 1), n_classes)

    def forward(self, windows: torch.Tensor) -> torch.Tensor:
        """Return class logits for a batch of (lookback, n_features) windows."""
        _, state = self.rnn(windows)
        final = state[0] if isinstance(state, tuple) else state
        last = torch.cat((final[-2], final[-1]), dim=1) if self.bidirectional else final[-1]
        return self.head(self.dropout(last))
