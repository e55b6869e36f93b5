"""The assessment job `run_assessment_job` (op type agent_assessment), run by the executor."""

from __future__ import annotations

import logging
from typing import Any

from ktrdr.agents.assessment._request import deterministic_verdict, trials_so_far
from ktrdr.agents.assessment.offline import assess, write_assessment
from ktrdr.agents.roles import ASSESSORS, OFFLINE
from ktrdr.errors import ValidationError
from ktrdr.execution import JobReporter
from ktrdr.settings import get_settings
from ktrdr.strategy import load_strategy, strategy_to_dict

logger = logging.getLogger(__name__)


def run_assessment_job(operation_id: str, request: dict[str, Any]) -> dict[str, Any]:
    """Assess one cycle and write ``strategies/<name>/assessment.json``.

    ``request``: ``{assessor, strategy_name, strategy_path, training_result, backtest_result,
    gates, statistics, deterministic_verdict, verdict_reason, experiment_id}``. Returns
    ``{assessment_path, verdict, tokens: {input, output}, cost_usd}``; the verdict is at most
    the deterministic one. The offline assessor spends no tokens, the LLM assessors are in
    ``ktrdr.agents.assessment.llm``.
    """
    assessor = request.get("assessor", OFFLINE)
    if assessor not in ASSESSORS:
        raise ValidationError(
            f"assessor {assessor!r} is not available; use one of: {', '.join(ASSESSORS)}"
        )
    if not request.get("strategy_name"):
        raise ValidationError("an assessment request needs a strategy_name")
    if assessor != OFFLINE:
        from ktrdr.agents.assessment.llm import assess_with_llm  # the SDKs load only when used

        return assess_with_llm(operation_id, {**request, "assessor": assessor})
    reporter = JobReporter(operation_id)
    reporter.progress(percentage=10, current_step=f"assessing {request['strategy_name']}")
    strategy_path = request.get("strategy_path")
    strategy = strategy_to_dict(load_strategy(strategy_path)) if strategy_path else None
    statistics = request.get("statistics")
    assessment = assess(
        request["strategy_name"],
        request.get("training_result"),
        request.get("backtest_result"),
        request.get("gates") or {},
        trials_so_far(request),
        strategy=strategy,
        statistics=statistics,
        deterministic=deterministic_verdict(request),
    )
    path = write_assessment(get_settings().path("strategies"), assessment, operation_id)
    logger.info(
        "operation %s: %s assessed %s (%s)",
        operation_id,
        assessor,
        request["strategy_name"],
        assessment["verdict"],
    )
    reporter.done(f"assessed {request['strategy_name']}: {assessment['verdict']}")
    return {
        "assessment_path": str(path),
        "verdict": assessment["verdict"],
        "tokens": {"input": 0, "output": 0},
        "cost_usd": 0.0,
    }
