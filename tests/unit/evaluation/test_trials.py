"""The trial ledger on a real store: one row per out-of-sample walk-forward backtest, N, V, PBO."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from sqlalchemy import func, select

from ktrdr.data import DataRepository, DataWindows
from ktrdr.errors import DataError
from ktrdr.evaluation import (
    TrialLedger,
    deflated_sharpe_ratio,
    expected_max_sharpe,
    min_track_record_length,
    probabilistic_sharpe_ratio,
    probability_of_backtest_overfitting,
    research_statistics,
    return_moments,
)
from ktrdr.evaluation.trial_statistics import ResearchStatistics
from ktrdr.evaluation.trials import PBO_MIN_TRIALS, PBO_SPLITS, pbo_on_common_bars
from ktrdr.operations import OperationsService, OperationType
from ktrdr.operations.schema import evaluation_trials as trials_table

FIRST_BAR = pd.Timestamp("2017-06-01T00:00:00Z")


class Backtests:
    """Completed backtest operations with real equity files, as the backtest job leaves them."""

    def __init__(self, operations: OperationsService, windows: DataWindows, home: Path) -> None:
        self.operations = operations
        self.home = home
        self.holdout_start = windows.get("EURUSD", "1h").holdout_start

    def completed(
        self,
        returns: np.ndarray,
        *,
        mode: str = "walk_forward",
        in_sample: bool = False,
        trades: int = 40,
        first_bar: pd.Timestamp = FIRST_BAR,
        equity: bool = True,
    ) -> str:
        operation = self.operations.create(
            OperationType.BACKTESTING,
            metadata={
                "symbol": "EURUSD",
                "timeframe": "1h",
                "parameters": {
                    "strategy_name": "alpha",
                    "model_path": "/models/alpha/v1",
                    "mode": mode,
                    "holdout_start": self.holdout_start.isoformat(),
                },
            },
        )
        path = self.home / operation.operation_id / "equity.parquet"
        if equity:
            path.parent.mkdir(parents=True)
            index = pd.date_range(first_bar, periods=len(returns) + 1, freq="1h")
            curve = 10_000 * np.cumprod(np.concatenate([[1.0], 1.0 + returns]))
            pd.DataFrame({"equity": curve}, index=index).to_parquet(path)
        self.operations.start(operation.operation_id)
        summary: dict[str, Any] = {
            "mode": mode,
            "in_sample": in_sample,
            "metrics": {"total_trades": trades, "sharpe_ratio": 1.0},
            "artifacts": {"equity": str(path)},
        }
        self.operations.complete(operation.operation_id, summary)
        return operation.operation_id


@pytest.fixture
def windows(store: Any, tmp_path: Path) -> DataWindows:
    return DataWindows(store.engine, DataRepository(tmp_path / "data"), holdout_fraction=0.2)


@pytest.fixture
def ledger(operations: OperationsService, windows: DataWindows) -> TrialLedger:
    return TrialLedger(operations, windows)


@pytest.fixture
def backtests(operations: OperationsService, windows: DataWindows, tmp_path: Path) -> Backtests:
    return Backtests(operations, windows, tmp_path / "backtests")


def noise(seed: int, bars: int = 600, drift: float = 0.0) -> np.ndarray:
    return np.random.default_rng(seed).normal(drift, 0.001, bars)


def stored_rows(ledger: TrialLedger) -> int:
    with ledger.engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(trials_table)).scalar_one())


def test_a_walk_forward_backtest_is_recorded_once_with_its_moments(
    ledger: TrialLedger, backtests: Backtests
) -> None:
    returns = noise(1, drift=0.0002)
    operation_id = backtests.completed(returns, trades=42)

    trial = ledger.record(operation_id)
    again = ledger.record(operation_id)

    moments = return_moments(returns)
    assert trial is not None and trial == again
    assert stored_rows(ledger) == 1
    assert (trial.symbol, trial.timeframe, trial.trades) == ("EURUSD", "1h", 42)
    assert trial.holdout_start == backtests.holdout_start
    assert trial.sharpe == pytest.approx(moments.sharpe)
    assert trial.n_obs == 600 and trial.kurtosis == pytest.approx(moments.kurtosis)
    kept = ledger.returns(operation_id)
    np.testing.assert_allclose(kept.to_numpy(), returns, rtol=1e-9)
    assert kept.index[0] == FIRST_BAR + pd.Timedelta(hours=1)


@pytest.mark.parametrize(
    ("mode", "in_sample"), [("range", False), ("range", True), ("holdout", False)]
)
def test_other_backtests_are_not_trials(
    ledger: TrialLedger, backtests: Backtests, mode: str, in_sample: bool
) -> None:
    operation_id = backtests.completed(noise(2), mode=mode, in_sample=in_sample)
    assert ledger.record(operation_id) is None
    assert stored_rows(ledger) == 0


def test_the_job_ended_listener_records_and_ignores_other_operations(
    ledger: TrialLedger, backtests: Backtests, operations: OperationsService
) -> None:
    operation_id = backtests.completed(noise(3))
    training = operations.create(OperationType.TRAINING).operation_id
    ledger.on_job_ended(training)
    ledger.on_job_ended(operation_id)
    ledger.on_job_ended(operation_id)
    assert ledger.trial(operation_id).operation_id == operation_id
    assert stored_rows(ledger) == 1


def test_a_trial_without_its_equity_file_is_an_error_naming_it(
    ledger: TrialLedger, backtests: Backtests
) -> None:
    operation_id = backtests.completed(noise(4), equity=False)
    with pytest.raises(DataError, match=f"walk-forward backtest {operation_id}'s equity file"):
        ledger.record(operation_id)
    ledger.on_job_ended(operation_id)  # logged, not raised: the executor's loop goes on
    assert stored_rows(ledger) == 0


def test_start_up_records_the_completed_backtests_missing_from_the_ledger(
    operations: OperationsService, windows: DataWindows, backtests: Backtests
) -> None:
    recorded = backtests.completed(noise(5))
    TrialLedger(operations, windows).record(recorded)
    missed = [backtests.completed(noise(seed)) for seed in (6, 7)]
    backtests.completed(noise(8), mode="range")

    restarted = TrialLedger(operations, windows)  # a new server on the same store
    assert sorted(restarted.record_missing()) == sorted(missed)
    assert restarted.record_missing() == []
    assert restarted.data_set("EURUSD", "1h").n_trials == 3


def test_n_and_v_come_from_the_data_set_s_trials(ledger: TrialLedger, backtests: Backtests) -> None:
    series = [noise(seed, drift=drift) for seed, drift in ((9, 0.0), (10, 0.0003), (11, -0.0001))]
    for returns in series:
        ledger.record(backtests.completed(returns))
    flat = backtests.completed(np.zeros(600), trades=0)
    ledger.record(flat)

    data_set = ledger.data_set("eurusd", "1h")

    sharpes = [return_moments(returns).sharpe for returns in series]
    assert data_set.n_trials == 4  # the flat curve counts as a trial
    assert ledger.trial(flat).sharpe is None  # ... but has no Sharpe to spread V
    assert data_set.sharpe_variance == pytest.approx(np.var(sharpes, ddof=1))
    assert data_set.pbo is None  # fewer than 8 trials
    assert data_set.to_dict() == {
        "n_trials": 4,
        "trials_sharpe_variance": data_set.sharpe_variance,
        "pbo": None,
    }


def test_a_reset_window_starts_the_trial_statistics_afresh(
    ledger: TrialLedger, backtests: Backtests, windows: DataWindows
) -> None:
    ledger.record(backtests.completed(noise(12)))
    before = backtests.completed(noise(13))  # ran at the old window, recorded after the reset
    windows.reset("EURUSD", "1h", "2017-11-01")
    ledger.record(before)
    assert ledger.data_set("EURUSD", "1h").n_trials == 0
    assert ledger.data_set("EURUSD", "1h", backtests.holdout_start).n_trials == 2

    backtests.holdout_start = windows.get("EURUSD", "1h").holdout_start
    ledger.record(backtests.completed(noise(14)))
    assert ledger.data_set("EURUSD", "1h").n_trials == 1


def test_pbo_is_computed_once_there_are_eight_trials_on_their_common_bars(
    ledger: TrialLedger, backtests: Backtests
) -> None:
    series = []
    for seed in range(PBO_MIN_TRIALS):
        start = FIRST_BAR + pd.Timedelta(hours=10 * seed)  # spans differ, 530 bars in common
        returns = noise(100 + seed)
        series.append(pd.Series(returns, index=pd.date_range(start, periods=601, freq="1h")[1:]))
        ledger.record(backtests.completed(returns, first_bar=start))

    common = pd.concat(series, axis=1, join="inner")
    expected = probability_of_backtest_overfitting(common.to_numpy(), n_splits=PBO_SPLITS)
    assert len(common) == 530
    assert ledger.data_set("EURUSD", "1h").pbo == pytest.approx(expected)
    assert pbo_on_common_bars(series[:-1]) is None  # seven trials


def test_pbo_needs_enough_common_bars() -> None:
    series = [
        pd.Series(noise(seed, bars=100), index=pd.date_range(FIRST_BAR, periods=100, freq="1h"))
        for seed in range(PBO_MIN_TRIALS)
    ]
    shifted = [s.shift(90, freq="1h") if n == 0 else s for n, s in enumerate(series)]
    assert pbo_on_common_bars(shifted) is None  # 10 bars in common
    assert pbo_on_common_bars(series) is not None


def test_the_research_statistics_deflate_by_the_data_set_s_trials(
    ledger: TrialLedger, backtests: Backtests
) -> None:
    for seed in range(4):
        ledger.record(backtests.completed(noise(200 + seed)))
    best = backtests.completed(noise(300, bars=2000, drift=0.0002), trades=55)

    statistics = ResearchStatistics(ledger).statistics(best)

    trial = ledger.trial(best)
    data_set = ledger.data_set("EURUSD", "1h")
    moments = (trial.sharpe, trial.n_obs, trial.skew, trial.kurtosis)
    assert statistics == research_statistics(trial, ledger.returns(best), data_set)
    assert statistics["n_trials"] == 5 and statistics["bars"] == 2000
    assert statistics["trades"] == 55
    assert statistics["psr"] == pytest.approx(probabilistic_sharpe_ratio(*moments))
    assert statistics["dsr"] == pytest.approx(
        deflated_sharpe_ratio(*moments, 5, data_set.sharpe_variance)
    )
    assert statistics["dsr"] < statistics["psr"]
    assert statistics["sharpe_annualized"] == pytest.approx(trial.sharpe * np.sqrt(24 * 365.25))
    low, high = statistics["bootstrap_ci"]
    assert low < statistics["sharpe_annualized"] < high
    # The track record needed to beat the best of 5 noise trials, not to beat 0.
    benchmark = expected_max_sharpe(5, data_set.sharpe_variance)
    needed = min_track_record_length(trial.sharpe, trial.skew, trial.kurtosis, benchmark=benchmark)
    assert statistics["min_track_record_bars"] == math.ceil(needed)


def test_a_flat_trial_has_no_sharpe_figures(ledger: TrialLedger, backtests: Backtests) -> None:
    flat = backtests.completed(np.zeros(600), trades=0)
    statistics = ResearchStatistics(ledger).statistics(flat)
    assert statistics["n_trials"] == 1 and statistics["bars"] == 600
    assert statistics["sharpe"] is None and statistics["dsr"] is None
    assert statistics["min_track_record_bars"] is None


def test_statistics_of_a_backtest_that_is_no_trial_are_refused(
    ledger: TrialLedger, backtests: Backtests
) -> None:
    ranged = backtests.completed(noise(15), mode="range")
    with pytest.raises(DataError, match=f"backtest {ranged} is not a completed out-of-sample"):
        ResearchStatistics(ledger).statistics(ranged)
