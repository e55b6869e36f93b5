"""Statistics that tell skill from luck (DESIGN §11): PSR, DSR, MinTRL, bootstrap CI, PBO."""

from __future__ import annotations

import math
from statistics import NormalDist

import numpy as np
import pytest

from ktrdr.errors import ValidationError
from ktrdr.evaluation import (
    backtest_overfitting,
    bootstrap_sharpe_ci,
    deflated_sharpe_ratio,
    expected_max_sharpe,
    min_track_record_length,
    probabilistic_sharpe_ratio,
    probability_of_backtest_overfitting,
    return_moments,
)


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


# --- expected maximum Sharpe and the deflated Sharpe ratio ---------------------------------------


def test_expected_max_sharpe_matches_the_published_examples() -> None:
    """Bailey, Borwein, López de Prado & Zhu (2014), "Pseudo-Mathematics and Financial
    Charlatanism", Notices of the AMS 61(5): for N = 10 independent unit-variance trials
    E[max] ≈ 1.57; and (their MinBTL example) with 5 years of data, where the annualised Sharpe of
    a skill-less strategy has variance 1/5, no more than 45 trials keep E[max] at an annualised
    Sharpe of 1.
    """
    assert expected_max_sharpe(10, 1.0) == pytest.approx(1.57, abs=0.005)
    assert expected_max_sharpe(45, 1 / 5) == pytest.approx(1.0, abs=0.001)
    assert expected_max_sharpe(46, 1 / 5) > 1.0


def test_expected_max_sharpe_is_zero_for_one_trial_and_rises_with_trials_and_variance() -> None:
    assert expected_max_sharpe(0, 0.3) == 0.0
    assert expected_max_sharpe(1, 0.3) == 0.0
    by_trials = [expected_max_sharpe(n, 0.01) for n in (2, 5, 10, 100, 1000)]
    assert by_trials == sorted(by_trials) and len(set(by_trials)) == len(by_trials)
    by_variance = [expected_max_sharpe(20, v) for v in (0.0, 0.001, 0.01, 0.1)]
    assert by_variance[0] == 0.0
    assert by_variance == sorted(by_variance) and len(set(by_variance)) == len(by_variance)


def test_deflated_sharpe_ratio_matches_the_papers_numerical_example() -> None:
    """Bailey & López de Prado (2014), "The Deflated Sharpe Ratio", J. Portfolio Management 40(5),
    numerical example: annualised SR 2.5 on 1250 daily bars (5 years, 250 a year), skew −3,
    kurtosis 10, N = 100 trials whose annualised Sharpes have variance 0.5. The paper states
    SR* ≈ 0.1132 per day and DSR ≈ 0.9004. (Stored copies of the paper could be read only up to
    its abstract here, so the figures are the paper's as remembered, re-derived by hand:)
    E[max Z] = 0.4228·Φ⁻¹(0.99) + 0.5772·Φ⁻¹(1 − 1/(100e)) = 0.4228·2.3263 + 0.5772·2.6803 = 2.5307;
    SR* = √(0.5/250)·2.5307 = 0.11317; SR = 2.5/√250 = 0.15811;
    z = (0.15811 − 0.11317)·√1249 / √(1 + 3·0.15811 + 9/4·0.15811²) = 1.2847; Φ(z) = 0.9004.
    """
    daily_variance = 0.5 / 250
    assert expected_max_sharpe(100, daily_variance) == pytest.approx(0.1132, abs=5e-5)
    dsr = deflated_sharpe_ratio(2.5 / math.sqrt(250), 1250, -3.0, 10.0, 100, daily_variance)
    assert dsr == pytest.approx(0.9004, abs=5e-5)


def test_deflated_sharpe_ratio_is_the_psr_for_one_trial_and_falls_as_trials_grow() -> None:
    psr = probabilistic_sharpe_ratio(0.08, 600, -0.5, 5.0)
    assert deflated_sharpe_ratio(0.08, 600, -0.5, 5.0, 1, 0.002) == pytest.approx(psr)
    dsrs = [deflated_sharpe_ratio(0.08, 600, -0.5, 5.0, n, 0.002) for n in (1, 2, 10, 50, 500)]
    assert all(dsr <= psr for dsr in dsrs)
    assert dsrs == sorted(dsrs, reverse=True) and len(set(dsrs)) == len(dsrs)


def test_expected_max_sharpe_refuses_a_negative_variance() -> None:
    with pytest.raises(ValidationError, match="trials_sharpe_variance"):
        expected_max_sharpe(10, -0.1)


# --- minimum track record length -----------------------------------------------------------------


def test_min_track_record_length_by_hand() -> None:
    """Bailey & López de Prado (2012), "The Sharpe Ratio Efficient Frontier", J. Risk 15(2):
    MinTRL = 1 + (1 − γ₃·SR + (γ₄−1)/4·SR²)·(Z_α/(SR − SR*))². Derived by hand (the paper's own
    example could not be read here): annualised SR 1.59 on monthly bars is SR = 1.59/√12 =
    0.45899; normal returns, SR* = 0, 95 %: 1 + (1 + 0.5·0.21067)·(1.64485/0.45899)² =
    1 + 1.10534·12.8427 = 15.196 months. Negative skew and fat tails lengthen it.
    """
    monthly = 1.59 / math.sqrt(12)
    assert min_track_record_length(monthly, 0.0, 3.0) == pytest.approx(15.196, abs=1e-3)
    assert min_track_record_length(monthly, -2.0, 10.0) > min_track_record_length(monthly, 0, 3)


def test_psr_reaches_the_confidence_exactly_at_the_min_track_record_length() -> None:
    bars = min_track_record_length(0.05, -0.4, 6.0, benchmark=0.01, confidence=0.9)
    psr = probabilistic_sharpe_ratio(0.05, bars, -0.4, 6.0, benchmark=0.01)  # type: ignore[arg-type]
    assert psr == pytest.approx(0.9)


def test_min_track_record_length_is_infinite_when_the_sharpe_does_not_beat_the_benchmark() -> None:
    assert min_track_record_length(0.1, 0.0, 3.0, benchmark=0.1) == math.inf
    assert min_track_record_length(-0.2, 0.0, 3.0) == math.inf


@pytest.mark.parametrize(
    ("kwargs", "words"),
    [({"confidence": 1.0}, "confidence"), ({"benchmark": math.nan}, "benchmark")],
)
def test_min_track_record_length_refuses_bad_inputs(kwargs: dict, words: str) -> None:
    with pytest.raises(ValidationError, match=words):
        min_track_record_length(0.1, 0.0, 3.0, **kwargs)


# --- stationary block bootstrap ------------------------------------------------------------------


def test_bootstrap_ci_contains_the_point_and_narrows_with_more_bars() -> None:
    rng = np.random.default_rng(11)
    widths = []
    for n_bars in (500, 5000):
        returns = rng.normal(0.0005, 0.01, n_bars)
        moments = return_moments(returns)
        assert moments is not None
        point = moments.sharpe * math.sqrt(252)
        interval = bootstrap_sharpe_ci(returns, 252, n_resamples=500)
        assert interval is not None
        low, high = interval
        assert low < point < high
        widths.append(high - low)
    assert widths[1] < widths[0] / 2


def test_bootstrap_ci_of_independent_returns_is_near_the_normal_approximation() -> None:
    """For iid returns the annualised Sharpe's standard error is ≈ √(periods_per_year / n)."""
    returns = np.random.default_rng(3).normal(0.0, 0.01, 4000)
    low, high = bootstrap_sharpe_ci(returns, 6048, confidence=0.9, n_resamples=1000) or (0, 0)
    expected_width = 2 * NormalDist().inv_cdf(0.95) * math.sqrt(6048 / 4000)
    assert high - low == pytest.approx(expected_width, rel=0.15)


def test_bootstrap_ci_widens_when_returns_are_autocorrelated() -> None:
    """Blocks keep dependence: a persistent series' Sharpe is less certain than an iid one's."""
    noise = np.random.default_rng(5).normal(0.0, 0.01, 3000)
    persistent = np.convolve(noise, np.ones(20), mode="same")
    iid_low, iid_high = bootstrap_sharpe_ci(noise, 252, n_resamples=500, mean_block=40) or (0, 0)
    low, high = bootstrap_sharpe_ci(persistent, 252, n_resamples=500, mean_block=40) or (0, 0)
    assert high - low > 2 * (iid_high - iid_low)


def test_bootstrap_ci_is_deterministic_for_a_seed() -> None:
    returns = np.random.default_rng(2).normal(0.001, 0.01, 300)
    first = bootstrap_sharpe_ci(returns, 252, n_resamples=200, seed=4)
    assert first == bootstrap_sharpe_ci(returns, 252, n_resamples=200, seed=4)
    assert first != bootstrap_sharpe_ci(returns, 252, n_resamples=200, seed=5)


def test_bootstrap_ci_is_undefined_for_a_flat_series() -> None:
    assert bootstrap_sharpe_ci(np.zeros(100), 252) is None


@pytest.mark.parametrize(
    ("kwargs", "words"),
    [
        ({"periods_per_year": 0}, "periods_per_year"),
        ({"confidence": 0.0}, "confidence"),
        ({"n_resamples": 0}, "n_resamples"),
        ({"mean_block": 0.5}, "mean_block"),
    ],
)
def test_bootstrap_ci_refuses_bad_parameters(kwargs: dict, words: str) -> None:
    arguments = {"periods_per_year": 252, **kwargs}
    with pytest.raises(ValidationError, match=words):
        bootstrap_sharpe_ci(np.linspace(-0.01, 0.02, 50), **arguments)


# --- probability of backtest overfitting (CSCV) --------------------------------------------------


def test_pbo_is_about_one_half_when_every_trial_is_noise() -> None:
    """50 skill-less trials (returns of random walks): on average the in-sample best is as likely
    to land below the out-of-sample median as above. One data set's PBO varies a lot (its 12,870
    splits share the same bars), so the mean over 24 independent data sets is checked.
    """
    pbos = [
        probability_of_backtest_overfitting(np.random.default_rng(seed).normal(0, 0.01, (480, 50)))
        for seed in range(24)
    ]
    assert 0.4 < float(np.mean(pbos)) < 0.6


def test_pbo_is_zero_when_one_trial_dominates() -> None:
    returns = np.random.default_rng(8).normal(0, 0.01, (800, 50))
    returns[:, 17] += 0.01
    assert probability_of_backtest_overfitting(returns) == 0.0


def test_cscv_gives_one_logit_per_split_and_accepts_a_list_of_trials() -> None:
    rng = np.random.default_rng(9)
    trials = [rng.normal(0, 0.01, 203) for _ in range(6)]
    result = backtest_overfitting(trials, n_splits=8)
    assert result.logits.shape == (math.comb(8, 4),)
    assert result.pbo == pytest.approx(float(np.mean(result.logits <= 0)))
    # Ranks run 1..6 of 7: every logit lies within ±ln(6).
    assert np.all(np.abs(result.logits) <= math.log(6) + 1e-12)
    assert result.pbo == probability_of_backtest_overfitting(np.column_stack(trials), n_splits=8)


def test_cscv_ranks_a_trial_that_is_flat_on_a_half_with_sharpe_zero() -> None:
    returns = np.random.default_rng(10).normal(0, 0.01, (160, 4))
    returns[:, 0] = 0.0
    returns[:, 1] += 0.02
    result = backtest_overfitting(returns, n_splits=4)
    assert result.pbo == 0.0
    assert np.all(np.isfinite(result.logits))


@pytest.mark.parametrize(
    ("oos_returns", "n_splits", "words"),
    [
        (np.zeros((100, 1)), 4, "at least 2 trials"),
        (np.zeros(100), 4, "matrix"),
        (np.zeros((100, 3)), 5, "n_splits"),
        (np.zeros((100, 3)), 0, "n_splits"),
        (np.zeros((20, 3)), 16, "20 bars"),
        (np.array([[0.1, np.nan]] * 64), 4, "non-finite"),
        ([np.zeros(64), np.zeros(63)], 4, "differ in length"),
    ],
)
def test_cscv_refuses_bad_input_naming_it(oos_returns: object, n_splits: int, words: str) -> None:
    with pytest.raises(ValidationError, match=words):
        probability_of_backtest_overfitting(oos_returns, n_splits)  # type: ignore[arg-type]
