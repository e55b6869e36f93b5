"""Statistics that tell skill from luck (DESIGN §11): the probabilistic Sharpe ratio and its inputs.

Sharpe ratios here are per period (per bar), not annualised; kurtosis is Pearson's (normal = 3).
"""

from __future__ import annotations

import functools
import itertools
import math
from dataclasses import dataclass
from statistics import NormalDist

import numpy as np

from ktrdr.errors import ValidationError

_NORMAL = NormalDist()


@dataclass(frozen=True)
class ReturnMoments:
    """What PSR needs of returns: per-period Sharpe, observations, skew, Pearson kurtosis."""

    sharpe: float
    n_obs: int
    skew: float
    kurtosis: float


def return_moments(returns: np.ndarray) -> ReturnMoments | None:
    """Per-period Sharpe (ddof 1), skewness and Pearson kurtosis of ``returns``; None if undefined.

    Undefined: fewer than 3 finite returns or zero variance (a flat equity curve).
    """
    values = np.asarray(returns, dtype=np.float64)
    values = values[np.isfinite(values)]
    if len(values) < 3:
        return None
    std = values.std(ddof=1)
    if std <= 0:
        return None
    centred = values - values.mean()
    second = np.mean(centred**2)
    skew = float(np.mean(centred**3) / second**1.5)
    kurtosis = float(np.mean(centred**4) / second**2)
    return ReturnMoments(float(values.mean() / std), len(values), skew, kurtosis)


def probabilistic_sharpe_ratio(
    sharpe: float, n_obs: int, skew: float, kurtosis: float, benchmark: float = 0.0
) -> float:
    """P(true Sharpe > ``benchmark``) given an observed per-period Sharpe (Bailey & López de Prado).

    PSR = Φ((SR − SR*)·√(n−1) / √(1 − γ₃·SR + (γ₄−1)/4·SR²)), γ₄ Pearson. Example: SR 0.1 per
    bar over 253 bars with normal returns (skew 0, kurtosis 3) gives Φ(0.1·√252 / √1.005) ≈ 0.94.
    """
    if n_obs < 2:
        raise ValidationError(f"n_obs must be >= 2 for a probabilistic Sharpe ratio, got {n_obs}")
    variance = _sharpe_variance_term(sharpe, skew, kurtosis)
    _require_finite(benchmark=benchmark)
    z = (sharpe - benchmark) * math.sqrt(n_obs - 1) / math.sqrt(variance)
    return _NORMAL.cdf(z)


def _require_finite(**values: float) -> None:
    for name, value in values.items():
        if not math.isfinite(value):
            raise ValidationError(f"{name} must be a finite number, got {value!r}")


def _sharpe_variance_term(sharpe: float, skew: float, kurtosis: float) -> float:
    # (n − 1) times the variance of the estimated Sharpe ratio under non-normal returns.
    _require_finite(sharpe=sharpe, skew=skew, kurtosis=kurtosis)
    variance = 1.0 - skew * sharpe + (kurtosis - 1.0) / 4.0 * sharpe**2
    if variance <= 0:
        raise ValidationError(
            f"sharpe {sharpe}, skew {skew}, kurtosis {kurtosis}: the Sharpe ratio's variance "
            f"term {variance:.4g} is not positive"
        )
    return variance


_EULER_GAMMA = 0.5772156649015329
# Above this many resampled returns at once the bootstrap works in chunks, bounding its memory.
_BOOTSTRAP_CHUNK_ELEMENTS = 1_000_000


def expected_max_sharpe(n_trials: int, trials_sharpe_variance: float) -> float:
    """Expected best Sharpe of ``n_trials`` skill-less trials whose Sharpes have variance V.

    E[max] = √V·((1−γ)·Φ⁻¹(1−1/N) + γ·Φ⁻¹(1−1/(N·e))), γ Euler–Mascheroni; 0 when N ≤ 1.
    Example: 10 trials with V = 1 give ≈ 1.57 (Bailey, Borwein, López de Prado & Zhu 2014).
    """
    if not math.isfinite(trials_sharpe_variance) or trials_sharpe_variance < 0:
        raise ValidationError(
            f"trials_sharpe_variance must be a finite number >= 0, got {trials_sharpe_variance!r}"
        )
    if n_trials <= 1:
        return 0.0
    expected_max_z = (1.0 - _EULER_GAMMA) * _NORMAL.inv_cdf(1.0 - 1.0 / n_trials) + (
        _EULER_GAMMA * _NORMAL.inv_cdf(1.0 - 1.0 / (n_trials * math.e))
    )
    return math.sqrt(trials_sharpe_variance) * expected_max_z


def deflated_sharpe_ratio(
    sharpe: float,
    n_obs: int,
    skew: float,
    kurtosis: float,
    n_trials: int,
    trials_sharpe_variance: float,
) -> float:
    """PSR against the best Sharpe luck alone gives N trials (Bailey & López de Prado 2014).

    DSR = PSR(SR* = expected_max_sharpe(N, V)); with one trial it equals PSR(0). Example (their
    paper): daily SR 2.5/√250 over 1250 bars, skew −3, kurtosis 10, 100 trials with V = 0.5/250
    gives SR* ≈ 0.1132 and DSR ≈ 0.90.
    """
    benchmark = expected_max_sharpe(n_trials, trials_sharpe_variance)
    return probabilistic_sharpe_ratio(sharpe, n_obs, skew, kurtosis, benchmark=benchmark)


def min_track_record_length(
    sharpe: float,
    skew: float,
    kurtosis: float,
    benchmark: float = 0.0,
    confidence: float = 0.95,
) -> float:
    """Bars needed for PSR(``benchmark``) to reach ``confidence`` (Bailey & López de Prado 2012).

    MinTRL = 1 + (1 − γ₃·SR + (γ₄−1)/4·SR²)·(Φ⁻¹(confidence)/(SR − SR*))²; ``math.inf`` when
    SR ≤ SR* (no track record is long enough). Example: SR 0.1 per bar, normal returns, 95 %:
    1 + 1.005·(1.6449/0.1)² ≈ 272.9 bars.
    """
    if not 0.0 < confidence < 1.0:
        raise ValidationError(f"confidence must lie strictly between 0 and 1, got {confidence!r}")
    variance = _sharpe_variance_term(sharpe, skew, kurtosis)
    _require_finite(benchmark=benchmark)
    if sharpe <= benchmark:
        return math.inf
    return 1.0 + variance * (_NORMAL.inv_cdf(confidence) / (sharpe - benchmark)) ** 2


def bootstrap_sharpe_ci(
    returns: np.ndarray,
    periods_per_year: float,
    *,
    confidence: float = 0.95,
    n_resamples: int = 2000,
    mean_block: float | None = None,
    seed: int = 0,
) -> tuple[float, float] | None:
    """Percentile CI of the annualised Sharpe by stationary block bootstrap (Politis & Romano 1994).

    Blocks of geometric length (mean ``mean_block``, default n^(1/3): the rate at which the optimal
    block length grows, Politis & White 2004) start at random bars and wrap around the end, so
    resamples keep the returns' short-range dependence. Non-finite returns are dropped; None when
    the Sharpe is undefined (see ``return_moments``). Deterministic for a ``seed``. Example: for
    8,000 independent hourly bars at 6,048 bars a year (24 h × 252 days) the 95 % CI is about the
    point ± 1.7, as the normal approximation 1.96·√(6048/8000) says.
    """
    if periods_per_year <= 0 or not math.isfinite(periods_per_year):
        raise ValidationError(
            f"periods_per_year must be a positive number, got {periods_per_year!r}"
        )
    if not 0.0 < confidence < 1.0:
        raise ValidationError(f"confidence must lie strictly between 0 and 1, got {confidence!r}")
    if n_resamples < 1:
        raise ValidationError(f"n_resamples must be >= 1, got {n_resamples}")
    if mean_block is not None and not (math.isfinite(mean_block) and mean_block >= 1.0):
        raise ValidationError(f"mean_block must be a number >= 1, got {mean_block!r}")
    values = np.asarray(returns, dtype=np.float64).ravel()
    values = values[np.isfinite(values)]
    if return_moments(values) is None:
        return None
    n = len(values)
    block = float(n ** (1.0 / 3.0)) if mean_block is None else mean_block
    rng = np.random.default_rng(seed)
    chunk = max(1, _BOOTSTRAP_CHUNK_ELEMENTS // n)
    sharpes = np.concatenate(
        [
            _resampled_sharpes(values, min(chunk, n_resamples - done), 1.0 / block, rng)
            for done in range(0, n_resamples, chunk)
        ]
    )
    sharpes *= math.sqrt(periods_per_year)
    tail = (1.0 - confidence) / 2.0
    low, high = np.quantile(sharpes, [tail, 1.0 - tail])
    return float(low), float(high)


def _resampled_sharpes(
    values: np.ndarray, n_resamples: int, restart_probability: float, rng: np.random.Generator
) -> np.ndarray:
    # Each resample: bar t starts a new block with probability p (always at t = 0) at a uniform
    # random bar, else continues the previous block with the next bar (wrapping around).
    n = len(values)
    steps = np.arange(n)
    restarts = rng.random((n_resamples, n)) < restart_probability
    restarts[:, 0] = True
    block_start_step = np.maximum.accumulate(np.where(restarts, steps, 0), axis=1)
    block_origin = rng.integers(0, n, size=(n_resamples, n))
    origin = np.take_along_axis(block_origin, block_start_step, axis=1)
    sample = values[(origin + steps - block_start_step) % n]
    std = sample.std(axis=1, ddof=1)
    mean = sample.mean(axis=1)
    return np.divide(mean, std, out=np.zeros_like(mean), where=std > 0)


@dataclass(frozen=True)
class BacktestOverfitting:
    """CSCV result: PBO and the logit of the in-sample best trial's OOS rank per split."""

    pbo: float
    logits: np.ndarray


def probability_of_backtest_overfitting(oos_returns: np.ndarray, n_splits: int = 16) -> float:
    """Share of CSCV splits whose in-sample best trial ranks at or below the OOS median.

    Combinatorially symmetric cross-validation (Bailey, Borwein, López de Prado & Zhu 2017); see
    ``backtest_overfitting`` for the input and the logits. ≈ 0.5 when every trial is noise, ≈ 0
    when one trial truly dominates.
    """
    return backtest_overfitting(oos_returns, n_splits).pbo


def backtest_overfitting(oos_returns: np.ndarray, n_splits: int = 16) -> BacktestOverfitting:
    """CSCV over a (T bars × N trials) matrix of per-bar returns (or N equal-length arrays).

    The bars are cut into ``n_splits`` (even) consecutive equal blocks, the oldest T mod S bars
    dropped. Each of the C(S, S/2) halves of blocks is in-sample once, the other half out of
    sample; the trial with the best in-sample Sharpe gets its OOS relative rank ω = rank/(N+1)
    (ties averaged) and the logit λ = ln(ω/(1−ω)). PBO = share of λ ≤ 0. A trial with no variance
    on a half has Sharpe 0 there. S = 16 gives 12,870 splits.
    """
    matrix = _trials_matrix(oos_returns)
    if isinstance(n_splits, bool) or not isinstance(n_splits, int) or n_splits < 2 or n_splits % 2:
        raise ValidationError(f"n_splits must be an even integer >= 2, got {n_splits!r}")
    n_bars, n_trials = matrix.shape
    rows_per_block = n_bars // n_splits
    if rows_per_block < 2:
        raise ValidationError(
            f"oos_returns has {n_bars} bars: {n_splits} blocks need at least {2 * n_splits} "
            f"(2 bars a block)"
        )
    blocks = matrix[n_bars - rows_per_block * n_splits :].reshape(
        n_splits, rows_per_block, n_trials
    )
    centred = blocks - matrix.mean(axis=0)
    # Per-block sums: a half's Sharpe follows from them without touching the bars again.
    block_sums = (blocks.sum(axis=1), centred.sum(axis=1), (centred**2).sum(axis=1))
    in_sample = _in_sample_halves(n_splits)
    half_bars = rows_per_block * n_splits // 2
    in_sharpe = _halves_sharpe(in_sample, block_sums, half_bars)
    out_sharpe = _halves_sharpe(1.0 - in_sample, block_sums, half_bars)
    best = np.argmax(in_sharpe, axis=1)
    best_out = np.take_along_axis(out_sharpe, best[:, None], axis=1)
    below = (out_sharpe < best_out).sum(axis=1)
    ties = (out_sharpe == best_out).sum(axis=1)
    relative_rank = (below + (ties + 1) / 2.0) / (n_trials + 1)
    logits = np.log(relative_rank / (1.0 - relative_rank))
    return BacktestOverfitting(float(np.mean(logits <= 0)), logits)


@functools.cache
def _in_sample_halves(n_splits: int) -> np.ndarray:
    # One row per combination of half the blocks: 1.0 where a block is in sample.
    chosen = np.array(list(itertools.combinations(range(n_splits), n_splits // 2)))
    halves = np.zeros((len(chosen), n_splits))
    halves[np.arange(len(chosen))[:, None], chosen] = 1.0
    halves.flags.writeable = False
    return halves


def _halves_sharpe(
    selection: np.ndarray, block_sums: tuple[np.ndarray, ...], n_bars: int
) -> np.ndarray:
    # Sharpe (ddof 1) of every trial over every selection of blocks, from sums of the returns and
    # of their deviations from each trial's overall mean (stable where returns are tiny).
    sums, centred_sums, centred_squares = (selection @ block for block in block_sums)
    variance = (centred_squares - centred_sums**2 / n_bars) / (n_bars - 1)
    std = np.sqrt(np.maximum(variance, 0.0))
    # A half without variance (a flat trial) left only rounding noise: its Sharpe is 0.
    flat = std <= 1e-9 * np.sqrt(centred_squares / n_bars)
    return np.divide(sums / n_bars, std, out=np.zeros_like(std), where=~flat & (std > 0))


def _trials_matrix(oos_returns: np.ndarray | list[np.ndarray]) -> np.ndarray:
    if isinstance(oos_returns, list | tuple):
        lengths = {len(np.asarray(trial).ravel()) for trial in oos_returns}
        if len(lengths) > 1:
            raise ValidationError(
                f"oos_returns: the trials' return series differ in length ({sorted(lengths)})"
            )
        columns = [np.asarray(trial, dtype=np.float64).ravel() for trial in oos_returns]
        matrix = np.column_stack(columns) if columns else np.empty((0, 0))
    else:
        matrix = np.asarray(oos_returns, dtype=np.float64)
    if matrix.ndim != 2:
        raise ValidationError(
            f"oos_returns must be a (bars × trials) matrix, got {matrix.ndim} dimension(s)"
        )
    if matrix.shape[1] < 2:
        raise ValidationError(f"oos_returns needs at least 2 trials, got {matrix.shape[1]}")
    if not np.isfinite(matrix).all():
        bad = np.argwhere(~np.isfinite(matrix))[0]
        raise ValidationError(
            f"oos_returns has a non-finite return (bar {bad[0]}, trial {bad[1]}); "
            "fill or trim missing bars first"
        )
    return matrix
