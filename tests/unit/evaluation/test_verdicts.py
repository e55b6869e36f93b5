"""The holdout verdict (DESIGN §11): confirmed, not_confirmed, inconclusive, with the numbers."""

from __future__ import annotations

import numpy as np
import pytest

from ktrdr.errors import ValidationError
from ktrdr.evaluation import holdout_psr, holdout_verdict, lower_verdict, research_verdict
from ktrdr.settings import Settings


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


PROMISING_FIGURES = {
    "n_trials": 37,
    "sharpe": 0.08,
    "sharpe_annualized": 2.5,
    "dsr": 0.97,
    "trades": 45,
    "bars": 2400,
    "min_track_record_bars": 800,
}


def test_a_research_window_is_promising_on_dsr_trades_and_track_record() -> None:
    verdict, reason = research_verdict(PROMISING_FIGURES)
    assert verdict == "promising"
    assert reason == (
        "dsr 0.97 >= 0.95 (37 trials), trades 45 >= 30, bars 2,400 >= min track record 800"
    )


@pytest.mark.parametrize(
    ("changes", "reason"),
    [
        ({"dsr": 0.43}, "dsr 0.43 < 0.95 (37 trials)"),
        ({"trades": 13}, "trades 13 < 30"),
        ({"bars": 700}, "bars 700 < min track record 800"),
        ({"dsr": 0.5, "trades": 13}, "dsr 0.50 < 0.95 (37 trials); trades 13 < 30"),
        ({"dsr": None}, "dsr undefined < 0.95 (37 trials)"),
        (
            {"min_track_record_bars": None},
            "sharpe not above the best of 37 noise trials: no track record",
        ),
    ],
)
def test_a_positive_sharpe_that_falls_short_is_neutral_naming_each_shortfall(
    changes: dict, reason: str
) -> None:
    assert research_verdict({**PROMISING_FIGURES, **changes}) == ("neutral", reason)


@pytest.mark.parametrize(
    ("changes", "reason"),
    [
        ({"sharpe": -0.01, "sharpe_annualized": -0.35}, "sharpe -0.35 annualised <= 0"),
        ({"sharpe": 0.0, "sharpe_annualized": None}, "sharpe 0.0000 per bar <= 0"),
        ({"sharpe": None}, "sharpe undefined (flat equity curve)"),
    ],
)
def test_no_positive_sharpe_is_poor(changes: dict, reason: str) -> None:
    assert research_verdict({**PROMISING_FIGURES, **changes}) == ("poor", reason)


def test_the_thresholds_are_parameters() -> None:
    figures = {**PROMISING_FIGURES, "dsr": 0.43, "trades": 13}
    assert research_verdict(figures, min_dsr=0.4, min_trades=10)[0] == "promising"
    assert research_verdict(figures, min_dsr=0.4)[1] == "trades 13 < 30"


def test_the_verdict_thresholds_default_to_design_and_read_the_environment(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    assert (Settings().verdict_min_dsr, Settings().verdict_min_trades) == (0.95, 30)
    monkeypatch.setenv("VERDICT_MIN_DSR", "0.5")
    monkeypatch.setenv("KTRDR_VERDICT_MIN_TRADES", "12")
    assert (Settings().verdict_min_dsr, Settings().verdict_min_trades) == (0.5, 12)


@pytest.mark.parametrize(
    ("first", "second", "lower"),
    [
        ("promising", "neutral", "neutral"),
        ("neutral", "promising", "neutral"),
        ("promising", "poor", "poor"),
        ("poor", "promising", "poor"),
        ("neutral", "neutral", "neutral"),
        ("promising", None, "promising"),
    ],
)
def test_an_assessor_may_lower_a_verdict_never_raise_it(
    first: str, second: str | None, lower: str
) -> None:
    assert lower_verdict(first, second) == lower


def test_an_unknown_verdict_is_refused_by_name() -> None:
    with pytest.raises(ValidationError, match="verdict 'great' is not one of poor, neutral"):
        lower_verdict("promising", "great")
