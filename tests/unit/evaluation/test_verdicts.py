"""The holdout verdict (DESIGN §11): confirmed, not_confirmed, inconclusive, with the numbers."""

from __future__ import annotations

import numpy as np

from ktrdr.evaluation import holdout_psr, holdout_verdict


def returns(mean: float, n: int = 2_000, seed: int = 1) -> np.ndarray:
    noise = np.random.default_rng(seed).normal(0.0, 0.01, n)
    return noise - noise.mean() + mean


def test_a_positive_sharpe_with_a_high_psr_and_enough_trades_is_confirmed() -> None:
    verdict, reason = holdout_verdict(
        {"total_trades": 12, "sharpe_ratio": 2.5}, holdout_psr(returns(0.001))
    )
    assert verdict == "confirmed"
    assert "12 trades" in reason and "psr" in reason


def test_fewer_than_ten_trades_is_inconclusive_whatever_the_sharpe() -> None:
    verdict, reason = holdout_verdict(
        {"total_trades": 9, "sharpe_ratio": 3.0}, holdout_psr(returns(0.001))
    )
    assert (verdict, reason) == ("inconclusive", "too_few_trades (9 < 10)")


def test_a_sharpe_at_or_below_zero_is_not_confirmed() -> None:
    verdict, reason = holdout_verdict(
        {"total_trades": 30, "sharpe_ratio": -0.4}, holdout_psr(returns(-0.001))
    )
    assert (verdict, reason) == ("not_confirmed", "sharpe -0.40 <= 0")
    verdict, reason = holdout_verdict(
        {"total_trades": 30, "sharpe_ratio": None}, holdout_psr(np.zeros(100))
    )
    assert (verdict, reason) == ("not_confirmed", "sharpe undefined <= 0")


def test_a_positive_sharpe_whose_psr_is_below_090_is_not_confirmed() -> None:
    # Mean 0.0002 per bar at 1 % noise over 2,000 bars: z = 0.02 * sqrt(1999) ≈ 0.89, PSR ≈ 0.81.
    verdict, reason = holdout_verdict(
        {"total_trades": 40, "sharpe_ratio": 0.6}, holdout_psr(returns(0.0002))
    )
    assert verdict == "not_confirmed"
    assert reason.startswith("psr 0.8") and reason.endswith("< 0.90 (sharpe 0.60)")
