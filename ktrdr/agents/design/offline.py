"""The offline designer: an Optuna study over the strategy space, no network needed.

Ask/tell across research cycles: each design asks the study for a trial; a later design first
tells the study the score of every finished walk-forward experiment whose design came from one of
its still running trials, so the sampler learns which regions of the space pass the gates. There
is one study per data set (symbol + timeframe): scores on different markets are not comparable,
and a study's trials are that data set's trials (DESIGN §11). A new study starts with the
textbook ``WARM_START_TRIALS``.

The designer sees the data set's research window only, and places fuzzy sets and label
thresholds on its initial training span (``ktrdr.agents.design.research``).
"""

from __future__ import annotations

import logging
import re
from collections.abc import Sequence
from typing import Any

import optuna
from optuna.trial import TrialState
from sqlalchemy.engine import make_url

from ktrdr.agents.design.research import HoldoutSource, ResearchData, research_data
from ktrdr.agents.design.space import (
    WARM_START_TRIALS,
    MarketProfile,
    decisions_section,
    feature_sections,
    model_section,
    training_section,
)
from ktrdr.agents.memory import ExperimentRecord, experiment_score
from ktrdr.data import DataRepository
from ktrdr.errors import StrategyValidationError, ValidationError
from ktrdr.strategy import StrategyConfig, validate_strategy

logger = logging.getLogger(__name__)

DEFAULT_STUDY = "ktrdr-offline-designer"
DEFAULT_SYMBOL = "EURUSD"
DEFAULT_TIMEFRAME = "1h"
MAX_ATTEMPTS = 5
SQLITE_TIMEOUT_SECONDS = 60
TIMEFRAME_WORDS = {
    "1m": ("1m", "1 minute", "1-minute", "one minute"),
    "5m": ("5m", "5 minute", "5-minute"),
    "15m": ("15m", "15 minute", "15-minute"),
    "30m": ("30m", "30 minute", "30-minute"),
    "1h": ("1h", "hourly", "1 hour", "1-hour", "h1"),
    "2h": ("2h", "2 hour", "2-hour"),
    "4h": ("4h", "4 hour", "4-hour", "h4"),
    "1d": ("1d", "daily", "1 day", "d1"),
    "1w": ("1w", "weekly", "1 week"),
}


class OfflineDesigner:
    """Design strategies from Optuna studies (one per data set) stored in the ktrdr database.

    ``OfflineDesigner(settings.resolved_database_url, seed=42).design(brief=None, data=repo,
    windows=data_windows, memory_records=memory.list(protocol=WALK_FORWARD))`` -> a validated
    strategy and ``{study, trial_number, params}``. Deterministic for a seed and a study history:
    a fresh study first proposes the ``WARM_START_TRIALS`` in order, then what its TPE sampler
    (seeded by ``seed``) suggests.
    """

    def __init__(self, storage_url: str, *, seed: int, study_prefix: str = DEFAULT_STUDY) -> None:
        self.storage_url = storage_url
        self.seed = seed
        self.study_prefix = study_prefix

    def study_name(self, symbol: str, timeframe: str) -> str:
        """The data set's study, e.g. ``ktrdr-offline-designer-EURUSD-1h``."""
        return f"{self.study_prefix}-{symbol}-{timeframe}"

    def design(
        self,
        *,
        brief: str | None,
        data: DataRepository,
        windows: HoldoutSource,
        memory_records: Sequence[ExperimentRecord],
        symbol: str | None = None,
        timeframe: str | None = None,
    ) -> tuple[StrategyConfig, dict[str, Any]]:
        """Propose one valid strategy; symbol/timeframe win over the brief, then EURUSD 1h.

        Only bars before the data set's holdout start (``windows``) are read; the strategy's
        ``training_data.date_range`` is the research window in whole days.
        """
        symbol, timeframe = resolve_market(brief, data, symbol, timeframe)
        research = research_data(data, windows, symbol, timeframe)
        profile = MarketProfile.from_bars(research.training_bars)
        study_name = self.study_name(symbol, timeframe)
        study = self._study(study_name)
        warm_start(study)
        told = self._learn(study, study_name, memory_records)
        study.sampler = optuna.samplers.TPESampler(seed=self.seed + len(study.trials))
        for _attempt in range(MAX_ATTEMPTS):
            trial = study.ask()
            document = self._strategy_dict(trial, study_name, profile, research)
            try:
                config = validate_strategy(document, source=f"offline design trial {trial.number}")
            except StrategyValidationError as exc:
                logger.warning("trial %d proposed an invalid strategy: %s", trial.number, exc)
                study.tell(trial, state=TrialState.FAIL)
                continue
            logger.info("trial %d designed %s (%d scores told)", trial.number, config.name, told)
            return config, {
                "study": study_name,
                "trial_number": trial.number,
                "params": dict(trial.params),
            }
        raise ValidationError(
            f"offline designer: {MAX_ATTEMPTS} trials of study {study_name!r} in a row "
            "proposed invalid strategies"
        )

    def _study(self, study_name: str) -> optuna.Study:
        engine_kwargs: dict[str, Any] = {}
        if make_url(self.storage_url).get_backend_name() == "sqlite":
            engine_kwargs["connect_args"] = {"timeout": SQLITE_TIMEOUT_SECONDS}
        # The study shares the ktrdr database; ktrdr's own migrations use ktrdr_alembic_version.
        storage = optuna.storages.RDBStorage(self.storage_url, engine_kwargs=engine_kwargs)
        return optuna.create_study(
            storage=storage,
            study_name=study_name,
            direction="maximize",
            load_if_exists=True,
        )

    def _learn(
        self, study: optuna.Study, study_name: str, records: Sequence[ExperimentRecord]
    ) -> int:
        """Tell the study the score of each finished experiment of one of its running trials.

        Single-window records have no score (``experiment_score``), so they are never told.
        """
        running = {t.number for t in study.get_trials(deepcopy=False, states=(TrialState.RUNNING,))}
        told = 0
        for record in records:
            design = record.design or {}
            number = design.get("trial_number")
            if design.get("study") != study_name or number not in running:
                continue
            score = experiment_score(record)
            if score is None:
                continue
            study.tell(number, score)
            running.discard(number)
            told += 1
        return told

    def _strategy_dict(
        self,
        trial: optuna.Trial,
        study_name: str,
        profile: MarketProfile,
        research: ResearchData,
    ) -> dict[str, Any]:
        indicators, fuzzy_sets, nn_inputs = feature_sections(trial, profile)
        training = training_section(trial, profile)
        model = model_section(trial, self.seed)
        described = ", ".join(f"{spec['type']}" for spec in indicators.values())
        symbol, timeframe = research.symbol, research.timeframe
        start, end = research.date_range()
        return {
            "name": strategy_name(symbol, timeframe, trial.number),
            "version": "3.0",
            "description": (
                f"Offline design, trial {trial.number} of study {study_name}: {described} "
                f"into an MLP {model['architecture']['hidden_layers']}, "
                f"{training['labels']['source']} labels."
            ),
            "tags": ["offline_designer", symbol.lower(), timeframe],
            "training_data": {
                "symbols": {"mode": "single", "symbol": symbol},
                "timeframes": {"mode": "single", "timeframe": timeframe},
                "date_range": {"start": start, "end": end},
            },
            "indicators": indicators,
            "fuzzy_sets": fuzzy_sets,
            "nn_inputs": nn_inputs,
            "model": model,
            "decisions": decisions_section(trial),
            "training": training,
            "backtest": {"costs": {"commission_bps": 1.0, "slippage_bps": 0.5}},
        }


def warm_start(study: optuna.Study) -> int:
    """Enqueue ``WARM_START_TRIALS`` into a study without trials; return how many were queued.

    A study that has any trial (waiting, running or finished) is left as it is. Trials already
    queued with the same parameters are skipped, so two designers racing on a new study queue
    each warm-start trial once.
    """
    if study.get_trials(deepcopy=False):
        return 0
    for params in WARM_START_TRIALS:
        study.enqueue_trial(params, user_attrs={"warm_start": True}, skip_if_exists=True)
    return len(WARM_START_TRIALS)


def strategy_name(symbol: str, timeframe: str, trial_number: int) -> str:
    """``offline_eurusd_1h_t0007`` for trial 7 on EURUSD 1h (``.`` in BRK.B becomes ``_``)."""
    plain = re.sub(r"[^a-z0-9_-]", "_", symbol.lower())
    return f"offline_{plain}_{timeframe}_t{trial_number:04d}"


def resolve_market(
    brief: str | None, data: DataRepository, symbol: str | None, timeframe: str | None
) -> tuple[str, str]:
    """Symbol and timeframe: the arguments, else those the brief mentions, else EURUSD 1h.

    "momentum on SP500 daily" -> ("SP500", "1d"); a symbol alone takes its stored timeframe.
    """
    stored = [(info.symbol, info.timeframe) for info in data.list()]
    text = f" {brief.lower()} " if brief else ""
    symbol = symbol or next(
        (s for s in dict.fromkeys(s for s, _ in stored) if _mentions(text, s.lower())), None
    )
    timeframe = timeframe or next(
        (tf for tf, words in TIMEFRAME_WORDS.items() if any(_mentions(text, w) for w in words)),
        None,
    )
    if symbol is None:
        candidates = [s for s, tf in stored if timeframe in (None, tf)]
        symbol = DEFAULT_SYMBOL if DEFAULT_SYMBOL in candidates or not candidates else candidates[0]
    if timeframe is None:
        own = [tf for s, tf in stored if s == symbol.upper()]
        timeframe = DEFAULT_TIMEFRAME if DEFAULT_TIMEFRAME in own or not own else own[0]
    return symbol.upper(), timeframe


def _mentions(text: str, word: str) -> bool:
    return re.search(rf"(?<![a-z0-9]){re.escape(word)}(?![a-z0-9])", text) is not None
