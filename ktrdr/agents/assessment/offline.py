"""The offline assessor: a rule-based judgement of one research cycle, no network needed."""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from ktrdr.agents.assessment._facts import collect_facts
from ktrdr.agents.assessment._rules import (
    Knobs,
    statistics_strengths,
    statistics_weaknesses,
    strengths,
    suggestions,
    verdict,
    weaknesses,
)
from ktrdr.evaluation.verdicts import lower_verdict
from ktrdr.files import write_text_atomically
from ktrdr.strategy import check_strategy_name

logger = logging.getLogger(__name__)

ASSESSMENT_FILE = "assessment.json"
VERDICTS = ("promising", "neutral", "poor")


def assess(
    strategy_name: str,
    training_result: Mapping[str, Any] | None,
    backtest_result: Mapping[str, Any] | None,
    gates: Mapping[str, Any],
    trials_so_far: int,
    *,
    strategy: Mapping[str, Any] | None = None,
    statistics: Mapping[str, Any] | None = None,
    deterministic: tuple[str, str] | None = None,
) -> dict[str, Any]:
    """Judge one cycle from its result summaries; the DESIGN §9 assessment dict.

    ``gates`` is ``{"training": {"passed", "reason"}, "backtest": {...}}``; ``backtest_result``
    is None when the training gate stopped the cycle. ``strategy`` (``strategy_to_dict`` form)
    lets suggestions name current values, e.g. "raise decisions.confidence_threshold from 0.55
    to 0.65". ``statistics`` (DSR, PSR, trials, PBO) and the ``deterministic`` ``(verdict,
    reason)`` of the research window are cited in the text; the rules of
    :func:`ktrdr.agents.assessment._rules.verdict` may lower that verdict, never raise it.
    """
    facts = collect_facts(training_result, backtest_result, gates)
    judged = verdict(facts)
    if deterministic is not None:
        judged = lower_verdict(deterministic[0], judged)
    return {
        "strategy_name": strategy_name,
        "verdict": judged,
        "strengths": strengths(facts) + statistics_strengths(statistics),
        "weaknesses": weaknesses(facts) + statistics_weaknesses(statistics, deterministic),
        "suggestions": suggestions(facts, Knobs.from_strategy(strategy)),
        "metrics": facts.metrics(),
        "gates": {
            name: dict(outcome) for name, outcome in gates.items() if isinstance(outcome, Mapping)
        },
        "statistics": dict(statistics) if statistics is not None else None,
        "deterministic_verdict": deterministic[0] if deterministic else None,
        "verdict_reason": deterministic[1] if deterministic else None,
        "trials_so_far": trials_so_far,
        "created_at": datetime.now(UTC).isoformat(),
        "assessor": "offline",
    }


def write_assessment(directory: Path, assessment: Mapping[str, Any], operation_id: str) -> Path:
    """Write ``<directory>/<strategy_name>/assessment.json`` atomically (temp file + rename).

    The file records ``operation_id`` (the assessment operation's), since every assessment of
    the strategy replaces it: a cycle's report shows it only while it is that cycle's.
    """
    name = check_strategy_name(str(assessment["strategy_name"]))
    folder = Path(directory) / name
    stored = {**assessment, "operation_id": operation_id}
    target = write_text_atomically(
        folder / ASSESSMENT_FILE, json.dumps(stored, indent=2, allow_nan=False) + "\n"
    )
    logger.info("assessment of %s written: %s", name, assessment.get("verdict"))
    return target
