"""The offline designer: valid, deterministic designs; quantile fuzzy sets on the initial training
span of the research window; learning from walk-forward experiments, one study per data set."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import optuna
import pandas as pd
import pytest
from optuna.trial import TrialState

from ktrdr.agents.design import offline as offline_module
from ktrdr.agents.design.offline import (
    OfflineDesigner,
    resolve_market,
    strategy_name,
    warm_start,
)
from ktrdr.agents.design.research import research_data
from ktrdr.agents.design.space import HOLD_SHARE_BAND, WARM_START_TRIALS, hold_share
from ktrdr.agents.memory import SINGLE_WINDOW, ExperimentRecord, experiment_score
from ktrdr.data import DataRepository, DataWindows
from ktrdr.errors import ValidationError
from ktrdr.features.indicators import compute_indicator
from ktrdr.operations import OperationsStore
from ktrdr.strategy import strategy_to_dict, validate_strategy
from ktrdr.strategy.schema import StrategyConfig

# EURUSD 1h sample: 5000 bars, the last 1000 sealed (holdout from 2017-12-08 00:00); the initial
# training span is the first 2000 research bars, to 2017-08-14 16:00.
RESEARCH_START, RESEARCH_END = "2017-04-19", "2017-12-07"
HOLDOUT_START = pd.Timestamp("2017-12-08", tz="UTC")
SPAN_END = pd.Timestamp("2017-08-14 16:00", tz="UTC")
STUDY = "ktrdr-offline-designer-EURUSD-1h"


@pytest.fixture
def repository(tmp_path: Path) -> DataRepository:
    """The bundled sample data (EURUSD 1h, GOOG/NASDAQ/SP500 1d), nothing imported."""
    return DataRepository(tmp_path / "data")


@pytest.fixture
def store(tmp_path: Path) -> Iterator[OperationsStore]:
    """A migrated SQLite ktrdr store holding the data windows."""
    opened = OperationsStore.from_url(f"sqlite:///{tmp_path / 'ktrdr.db'}")
    yield opened
    opened.dispose()


@pytest.fixture
def windows(store: OperationsStore, repository: DataRepository) -> DataWindows:
    """The default 20 % holdout, frozen at first use."""
    return DataWindows(store.engine, repository, holdout_fraction=0.2)


def training_span(repository: DataRepository, windows: DataWindows) -> pd.DataFrame:
    return research_data(repository, windows, "EURUSD", "1h").training_bars


def designer(tmp_path: Path, name: str, seed: int = 42) -> OfflineDesigner:
    """A designer on a fresh SQLite study file ``<name>.db``."""
    return OfflineDesigner(f"sqlite:///{tmp_path / name}.db", seed=seed)


def design_dicts(
    designer_: OfflineDesigner,
    data: DataRepository,
    windows: DataWindows,
    count: int,
    **kwargs: Any,
) -> list[dict[str, Any]]:
    return [
        strategy_to_dict(
            designer_.design(brief=None, data=data, windows=windows, memory_records=[], **kwargs)[0]
        )
        for _ in range(count)
    ]


def design_params(
    designer_: OfflineDesigner, data: DataRepository, windows: DataWindows, count: int
) -> list[dict]:
    """The sampled parameters of ``count`` consecutive designs."""
    return [
        designer_.design(brief=None, data=data, windows=windows, memory_records=[])[1]["params"]
        for _ in range(count)
    ]


def record(number: int, status: str, *, study: str = STUDY, **fields: Any) -> ExperimentRecord:
    return ExperimentRecord(
        experiment_id=f"op_agent_research_20260101_00000{number}_0000000{number}",
        created_at=datetime(2026, 1, 1, 0, 0, number, tzinfo=UTC),
        strategy_name=strategy_name("EURUSD", "1h", number),
        designer="offline",
        status=status,
        design={"study": study, "trial_number": number},
        **fields,
    )


def load_study(path: Path, study_name: str = STUDY) -> optuna.Study:
    return optuna.load_study(
        study_name=study_name,
        storage=optuna.storages.RDBStorage(f"sqlite:///{path}"),
    )


# -- validity and determinism ------------------------------------------------------------------


def test_fifteen_designs_all_validate_and_keep_the_contract(tmp_path, repository, windows) -> None:
    documents = design_dicts(designer(tmp_path, "study"), repository, windows, 15)

    training_bars = training_span(repository, windows)
    for number, document in enumerate(documents):
        config = validate_strategy(document)
        assert config.name == f"offline_eurusd_1h_t{number:04d}"
        assert 1 <= len(config.indicators) <= 4
        assert len(config.nn_inputs) == len(config.indicators)
        assert config.training_data.date_range.model_dump() == {
            "start": pd.Timestamp(RESEARCH_START).date(),
            "end": pd.Timestamp(RESEARCH_END).date(),
        }
        assert config.backtest.date_range is None
        assert (config.backtest.costs.commission_bps, config.backtest.costs.slippage_bps) == (
            1.0,
            0.5,
        )
        assert 0.40 <= config.decisions.confidence_threshold <= 0.55
        assert 15 <= config.training.epochs <= 30
        assert 4 <= config.training.early_stopping.patience <= 6
        assert 1 <= config.model.lookback <= 3
        share = hold_share(training_bars, config.training.labels.model_dump())
        assert HOLD_SHARE_BAND[0] <= share <= HOLD_SHARE_BAND[1]


def test_a_fresh_study_with_the_same_seed_proposes_the_same_strategies(
    tmp_path, repository, windows
) -> None:
    count = len(WARM_START_TRIALS) + 2
    first = design_dicts(designer(tmp_path, "one", seed=5), repository, windows, count)
    second = design_dicts(designer(tmp_path, "two", seed=5), repository, windows, count)

    assert first == second


def test_the_sampled_designs_after_the_warm_start_depend_on_the_seed(
    tmp_path, repository, windows
) -> None:
    warm = len(WARM_START_TRIALS)
    five = design_params(designer(tmp_path, "one", seed=5), repository, windows, warm + 2)
    six = design_params(designer(tmp_path, "two", seed=6), repository, windows, warm + 2)

    assert five[:warm] == six[:warm] == list(WARM_START_TRIALS)
    assert five[warm:] != six[warm:]


def test_a_new_study_first_designs_the_warm_start_trials_in_order(
    tmp_path, repository, windows
) -> None:
    warm = len(WARM_START_TRIALS)
    params = design_params(designer(tmp_path, "study"), repository, windows, warm + 1)

    assert params[:warm] == list(WARM_START_TRIALS)
    assert params[warm] not in WARM_START_TRIALS
    trials = load_study(tmp_path / "study.db").trials
    assert [t.user_attrs.get("warm_start", False) for t in trials] == [True] * warm + [False]


def test_the_warm_start_is_queued_only_into_a_study_without_trials(
    tmp_path, repository, windows
) -> None:
    design_params(designer(tmp_path, "study"), repository, windows, 1)
    study = load_study(tmp_path / "study.db")

    assert warm_start(study) == 0
    again = design_params(designer(tmp_path, "study"), repository, windows, len(WARM_START_TRIALS))
    assert again[:-1] == list(WARM_START_TRIALS[1:])
    assert again[-1] not in WARM_START_TRIALS
    assert len(load_study(tmp_path / "study.db").trials) == len(WARM_START_TRIALS) + 1


def test_warm_start_trials_name_every_parameter_their_design_asks_for(
    tmp_path, repository, windows
) -> None:
    for number, expected in enumerate(WARM_START_TRIALS):
        design_params(designer(tmp_path, "study"), repository, windows, 1)
        trial = load_study(tmp_path / "study.db").trials[number]
        assert trial.params == expected
        assert trial.distributions.keys() == expected.keys()


def test_design_info_names_the_study_trial_and_sampled_params(
    tmp_path, repository, windows
) -> None:
    config, info = designer(tmp_path, "study").design(
        brief=None, data=repository, windows=windows, memory_records=[]
    )

    assert info["study"] == STUDY
    assert info["trial_number"] == 0
    assert info["params"] == WARM_START_TRIALS[0]
    assert info["params"]["indicator_count"] >= len(config.indicators)
    assert info["params"]["label_source"] == config.training.labels.source
    trial = load_study(tmp_path / "study.db").trials[0]
    assert trial.state == TrialState.RUNNING
    assert trial.params == info["params"]


# -- fuzzy sets from the training data ---------------------------------------------------------


def fuzzy_breakpoints(config: StrategyConfig, bars: pd.DataFrame) -> list[tuple[np.ndarray, dict]]:
    """Per fuzzy set: its indicator's finite values on ``bars`` and its memberships."""
    placed = []
    for fuzzy_set in config.fuzzy_sets.values():
        indicator_id, _, output = fuzzy_set.indicator.partition(".")
        indicator = config.indicators[indicator_id]
        values = compute_indicator(indicator.type, indicator.params, bars)[output or "value"]
        memberships = {name: mf.parameters for name, mf in fuzzy_set.memberships.items()}
        placed.append((values[np.isfinite(values)], memberships))
    return placed


def test_the_training_span_is_the_first_half_of_the_research_window(repository, windows) -> None:
    research = research_data(repository, windows, "EURUSD", "1h")

    assert research.holdout_start == HOLDOUT_START
    assert len(research.bars) == 4000 and research.bars.index[-1] < HOLDOUT_START
    assert len(research.training_bars) == 2000
    assert research.training_bars.index[-1] == SPAN_END
    assert research.date_range() == (RESEARCH_START, RESEARCH_END)


def test_fuzzy_sets_sit_at_the_training_span_quantiles(tmp_path, repository, windows) -> None:
    training_bars = training_span(repository, windows)
    design = designer(tmp_path, "study", seed=3)
    checked = 0
    for _ in range(8):
        config, _info = design.design(
            brief=None, data=repository, windows=windows, memory_records=[]
        )
        for values, memberships in fuzzy_breakpoints(config, training_bars):
            low, mid, high = memberships["low"], memberships["mid"], memberships["high"]
            assert list(memberships) == ["low", "mid", "high"]
            assert (len(low), len(mid), len(high)) == (4, 3, 4)
            for point in (*mid, low[2], high[1]):
                assert values.min() <= point <= values.max()
            assert mid[1] == pytest.approx(np.median(values), rel=1e-5)
            assert low[0] <= values.min() and high[3] >= values.max()
            assert low[2:] == mid[:2] and high[:2] == mid[1:]
            checked += 1
    assert checked >= 5


def test_bars_after_the_training_span_do_not_change_the_design(
    tmp_path, repository, windows, store
) -> None:
    # The folds' test slices and the holdout alike: changing them changes no design.
    bars = repository.load("EURUSD", "1h")
    changed = bars.copy()
    later = changed.index > SPAN_END
    changed.loc[later, ["open", "high", "low", "close"]] *= 1.3
    changed.loc[later, "volume"] *= 7
    csv = tmp_path / "changed.csv"
    changed.to_csv(csv)
    altered = DataRepository(tmp_path / "altered")
    altered.import_file(csv, "EURUSD", "1h")
    altered_windows = DataWindows(store.engine, altered, holdout_fraction=0.2)

    assert design_dicts(designer(tmp_path, "a", seed=11), repository, windows, 4) == design_dicts(
        designer(tmp_path, "b", seed=11), altered, altered_windows, 4
    )


# -- learning from the experiment memory -------------------------------------------------------


def test_finished_experiments_are_told_to_their_running_trials(
    tmp_path, repository, windows
) -> None:
    design = designer(tmp_path, "study")
    for _ in range(5):
        design.design(brief=None, data=repository, windows=windows, memory_records=[])
    records = [
        record(
            0,
            "completed",
            backtest_metrics={"metrics": {"sharpe_ratio": 1.2}},
            verdict="promising",
        ),
        record(
            1,
            "gate_failed",
            training_metrics={"test_metrics": {"test_accuracy": 0.38}},
            gates={"training": {"passed": False, "reason": "accuracy_below_threshold"}},
        ),
        record(2, "cancelled"),
        record(3, "failed", study="ktrdr-offline-designer-SP500-1d"),
        # Measured before the evaluation protocol: kept in memory, never scored.
        record(
            4,
            "completed",
            protocol=SINGLE_WINDOW,
            backtest_metrics={"metrics": {"sharpe_ratio": 4.8}},
            verdict="promising",
        ),
    ]

    _config, info = design.design(
        brief=None, data=repository, windows=windows, memory_records=records
    )

    trials = load_study(tmp_path / "study.db").trials
    assert info["trial_number"] == 5
    assert [t.state for t in trials] == [
        TrialState.COMPLETE,
        TrialState.COMPLETE,
        TrialState.RUNNING,
        TrialState.RUNNING,
        TrialState.RUNNING,
        TrialState.RUNNING,
    ]
    assert experiment_score(records[4]) is None
    assert trials[0].value == pytest.approx(experiment_score(records[0]))
    assert trials[1].value == pytest.approx(experiment_score(records[1]))

    design.design(brief=None, data=repository, windows=windows, memory_records=records)
    assert [t.value for t in load_study(tmp_path / "study.db").trials[:2]] == [
        pytest.approx(2.2),
        pytest.approx(-6.62),
    ]


def test_an_invalid_proposal_fails_its_trial_and_the_next_one_is_used(
    tmp_path, repository, windows, monkeypatch
) -> None:
    real = offline_module.decisions_section
    calls = []

    def first_one_invalid(trial: optuna.Trial) -> dict[str, Any]:
        calls.append(trial.number)
        section = real(trial)
        return {**section, "confidence_threshold": 1.5} if len(calls) == 1 else section

    monkeypatch.setattr(offline_module, "decisions_section", first_one_invalid)

    config, info = designer(tmp_path, "study").design(
        brief=None, data=repository, windows=windows, memory_records=[]
    )

    assert info["trial_number"] == 1
    assert config.name.endswith("_t0001")
    states = [t.state for t in load_study(tmp_path / "study.db").trials]
    assert states == [TrialState.FAIL, TrialState.RUNNING] + [TrialState.WAITING] * (
        len(WARM_START_TRIALS) - 2
    )


def test_endlessly_invalid_proposals_raise_after_bounded_attempts(
    tmp_path, repository, windows, monkeypatch
) -> None:
    monkeypatch.setattr(
        offline_module,
        "decisions_section",
        lambda trial: {"confidence_threshold": 0.0},
    )

    with pytest.raises(ValidationError, match="5 trials"):
        designer(tmp_path, "study").design(
            brief=None, data=repository, windows=windows, memory_records=[]
        )

    assert len(load_study(tmp_path / "study.db").trials) == offline_module.MAX_ATTEMPTS


# -- market, range and name --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("brief", "expected"),
    [
        (None, ("EURUSD", "1h")),
        ("anything at all", ("EURUSD", "1h")),
        ("momentum on SP500 daily", ("SP500", "1d")),
        ("nasdaq swings", ("NASDAQ", "1d")),
        ("EURUSD 4h trend following", ("EURUSD", "4h")),
        ("hourly mean reversion", ("EURUSD", "1h")),
        ("a daily idea", ("GOOG", "1d")),
        ("GOOGLE is not a symbol here", ("EURUSD", "1h")),
    ],
)
def test_the_brief_names_the_market(repository, brief, expected) -> None:
    assert resolve_market(brief, repository, None, None) == expected


def test_explicit_symbol_and_timeframe_win_over_the_brief(repository) -> None:
    assert resolve_market("SP500 daily", repository, "eurusd", "4h") == ("EURUSD", "4h")
    assert resolve_market("SP500 daily", repository, None, "1w") == ("SP500", "1w")


@pytest.mark.parametrize(
    ("symbol", "timeframe", "expected"),
    [
        ("EURUSD", "1h", ("2017-04-19", "2017-12-07")),
        ("SP500", "1d", ("1999-01-04", "2014-12-30")),
        ("GOOG", "1d", ("2004-08-19", "2011-06-14")),
    ],
)
def test_the_date_range_is_the_research_window_in_whole_days(
    repository, windows, symbol, timeframe, expected
) -> None:
    assert research_data(repository, windows, symbol, timeframe).date_range() == expected


def test_a_brief_designs_for_its_market(tmp_path, repository, windows) -> None:
    config, info = designer(tmp_path, "study").design(
        brief="trend strength on SP500 daily", data=repository, windows=windows, memory_records=[]
    )

    assert config.name == "offline_sp500_1d_t0000"
    assert config.symbols() == ["SP500"] and config.timeframes() == ["1d"]
    assert str(config.training_data.date_range.end) == "2014-12-30"
    assert info["study"] == "ktrdr-offline-designer-SP500-1d"


def test_each_data_set_has_its_own_study(tmp_path, repository, windows) -> None:
    design = designer(tmp_path, "study")
    sp500 = [
        design.design(
            brief=None, data=repository, windows=windows, memory_records=[], symbol="SP500"
        )[1]
        for _ in range(2)
    ]
    eurusd = design.design(brief=None, data=repository, windows=windows, memory_records=[])[1]

    assert [info["trial_number"] for info in sp500] == [0, 1]
    assert (eurusd["study"], eurusd["trial_number"]) == (STUDY, 0)
    assert eurusd["params"] == sp500[0]["params"] == WARM_START_TRIALS[0]
    assert len(load_study(tmp_path / "study.db", "ktrdr-offline-designer-SP500-1d").trials) == len(
        WARM_START_TRIALS
    )


def test_strategy_names_follow_the_name_rule() -> None:
    assert strategy_name("EURUSD", "1h", 7) == "offline_eurusd_1h_t0007"
    assert strategy_name("BRK.B", "1d", 12345) == "offline_brk_b_1d_t12345"
