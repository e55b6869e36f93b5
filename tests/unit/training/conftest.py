"""Small synthetic, linearly separable three-class data for the training tests."""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import pytest
import torch


@pytest.fixture(autouse=True, scope="session")
def one_torch_thread() -> Iterator[None]:
    """Run torch single-threaded: tiny models only lose to thread start-up and CPU contention."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def separable(n_rows: int, n_features: int = 6, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Return features and labels 0/1/2 by terciles of a fixed linear score (balanced classes)."""
    rng = np.random.default_rng(seed)
    features = rng.normal(size=(n_rows, n_features)).astype(np.float32)
    score = features[:, 0] + 0.5 * features[:, 1]
    labels = np.digitize(score, [-0.43, 0.43]).astype(np.int64)
    return features, labels


@pytest.fixture
def splits() -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Train / validation / test splits of separable data drawn with different seeds."""
    return {
        "train": separable(480, seed=1),
        "val": separable(160, seed=2),
        "test": separable(160, seed=3),
    }


@pytest.fixture
def make_separable():
    """The ``separable(n_rows, n_features=6, seed=0)`` data factory."""
    return separable
