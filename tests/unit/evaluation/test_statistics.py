"""The probabilistic Sharpe ratio (DESIGN §11) and the moments it reads."""

from __future__ import annotations

import math
from statistics import NormalDist

import numpy as np
import pytest

from ktrdr.errors import ValidationError
from ktrdr.evaluation import probabilistic_sharpe_ratio, return_moments


def test_psr_of_normal_returns_is_the_textbook_value() -> None:
    # SR 0.1 per bar over 253 bars, normal: z = 0.1 * sqrt(252) / sqrt(1 + 2/4 * 0.01).
    z = 0.1 * math.sqrt(252) / math.sqrt(1.005)
    assert probabilistic_sharpe_ratio(0.1, 253, 0.0, 3.0) == pytest.approx(NormalDist().cdf(z))
    assert probabilistic_sharpe_ratio(0.1, 253, 0.0, 3.0) == pytest.approx(0.9433, abs=1e-4)


def test_negative_skew_and_fat_tails_lower_the_psr() -> None:
    normal = probabilistic_sharpe_ratio(0.1, 253, 0.0, 3.0)
    assert probabilistic_sharpe_ratio(0.1, 253, -1.0, 3.0) < normal
    assert probabilistic_sharpe_ratio(0.1, 253, 0.0, 9.0) < normal


def test_psr_is_one_half_at_the_benchmark_and_grows_with_the_track_record() -> None:
    assert probabilistic_sharpe_ratio(0.05, 100, 0.3, 5.0, benchmark=0.05) == pytest.approx(0.5)
    assert probabilistic_sharpe_ratio(0.05, 1000, 0, 3) > probabilistic_sharpe_ratio(
        0.05, 100, 0, 3
    )


@pytest.mark.parametrize(
    ("args", "words"),
    [
        ((0.1, 1, 0.0, 3.0), "n_obs"),
        ((math.nan, 10, 0.0, 3.0), "sharpe"),
        ((1.0, 10, 5.0, 3.0), "variance"),
    ],
)
def test_bad_inputs_are_refused_naming_them(args: tuple, words: str) -> None:
    with pytest.raises(ValidationError, match=words):
        probabilistic_sharpe_ratio(*args)


def test_moments_are_per_period_sharpe_skew_and_pearson_kurtosis() -> None:
    returns = np.random.default_rng(7).normal(0.001, 0.01, 200_000)
    moments = return_moments(returns)
    assert moments is not None
    assert moments.n_obs == 200_000
    assert moments.sharpe == pytest.approx(0.1, abs=0.01)
    assert moments.skew == pytest.approx(0.0, abs=0.02)
    assert moments.kurtosis == pytest.approx(3.0, abs=0.05)


def test_moments_are_undefined_for_a_flat_or_too_short_series() -> None:
    assert return_moments(np.zeros(50)) is None
    assert return_moments(np.array([0.01, 0.02])) is None
