"""The LLM assessor: the model judges a cycle and saves it through the ``save_assessment`` tool.

It writes the same ``strategies/<name>/assessment.json`` shape as the offline assessor (DESIGN
§9), plus the model's ``hypotheses`` and the ``llm_model`` that wrote it. The prompt shows a fixed
list of walk-forward figures (never a holdout result) through a ``PromptGuard``: no date at or
after the holdout start and, when ``KTRDR_LLM_BLIND`` (default), no date or real symbol at all.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field
from pydantic import ValidationError as PydanticValidationError

from ktrdr.agents.assessment._facts import collect_facts
from ktrdr.agents.assessment._request import deterministic_verdict, trials_so_far
from ktrdr.agents.assessment.offline import write_assessment
from ktrdr.agents.llm import (
    PromptGuard,
    ToolInputError,
    ToolLoopExhausted,
    ToolSpec,
    resolve_model,
    run_tool_loop,
)
from ktrdr.agents.llm.runtime import job_session, run_job_calls
from ktrdr.data import DataRepository, DataWindows
from ktrdr.errors import JobError, NotFoundError
from ktrdr.evaluation.verdicts import lower_verdict
from ktrdr.execution import JobReporter, worker_operations
from ktrdr.operations import OperationsService
from ktrdr.settings import Settings, get_settings
from ktrdr.strategy import StrategyConfig, dump_strategy_yaml, load_strategy

logger = logging.getLogger(__name__)

TOOL_NAME = "save_assessment"
# The research statistics a prompt shows (DESIGN §11): numbers only, no dates.
STATISTICS_SHOWN = (
    "n_trials",
    "sharpe",
    "sharpe_annualized",
    "psr",
    "dsr",
    "bootstrap_ci",
    "min_track_record_bars",
    "bars",
    "pbo",
    "trades",
)
SYSTEM_PROMPT = (
    "You are a quantitative researcher reviewing one research cycle of ktrdr: a neuro-fuzzy "
    "strategy, its walk-forward training metrics (each fold's test split), its walk-forward "
    "backtest on out-of-sample slices of the research window, the quality gates and the "
    "statistics that deflate its Sharpe ratio for the trials run on this data set. The "
    "deterministic verdict is a ceiling: you may lower it, never raise it. Judge it "
    "soberly, cite the numbers, and propose concrete, testable "
    f"changes for the next design. Save your judgement by calling {TOOL_NAME}."
)


class LLMAssessment(BaseModel):
    """The ``save_assessment`` tool input."""

    model_config = ConfigDict(extra="forbid")

    verdict: Literal["promising", "neutral", "poor"] = Field(
        description="promising: worth refining; neutral: unclear; poor: drop the idea"
    )
    strengths: list[str] = Field(description="What worked, citing metrics")
    weaknesses: list[str] = Field(description="What failed, citing metrics")
    suggestions: list[str] = Field(
        min_length=1, description="Concrete changes, naming strategy fields and new values"
    )
    hypotheses: list[str] = Field(description="Hypotheses for the next experiments")


def assess_with_llm(operation_id: str, request: dict[str, Any]) -> dict[str, Any]:
    """Assess one cycle with the request's provider and write assessment.json; the job result."""
    provider = request["assessor"]
    settings = get_settings()
    operations = worker_operations()
    reporter = JobReporter(operation_id)
    model = resolve_model(settings, provider, _research_model(operations, request))
    reporter.progress(percentage=10, current_step=f"{model} assessing {request['strategy_name']}")
    trials = trials_so_far(request)
    strategy = _strategy(request)
    guard = _guard(strategy, settings, operations)
    session = job_session(provider, settings, operations, reporter, "assessment")

    async def converse() -> LLMAssessment:
        return await run_tool_loop(
            session,
            model=model,
            system=SYSTEM_PROMPT,
            prompt=assessment_prompt(request, trials, strategy, guard),
            tool=assessment_tool(),
            accept=accept_assessment,
            max_turns=settings.agent_max_turns,
        )

    try:
        judged = run_job_calls(session, converse, reporter)
    except ToolLoopExhausted as exc:
        raise JobError(
            f"no valid assessment after {exc.attempts} attempts: {exc.last_errors}"
        ) from exc
    facts = collect_facts(
        request.get("training_result"), request.get("backtest_result"), request.get("gates") or {}
    )
    deterministic = deterministic_verdict(request)
    verdict = lower_verdict(deterministic[0], judged.verdict) if deterministic else judged.verdict
    assessment = {
        "strategy_name": request["strategy_name"],
        **judged.model_dump(exclude={"hypotheses"}),
        "verdict": verdict,
        "assessor_verdict": judged.verdict,
        "metrics": facts.metrics(),
        "gates": {k: dict(v) for k, v in (request.get("gates") or {}).items() if _is_map(v)},
        "statistics": request.get("statistics"),
        "deterministic_verdict": deterministic[0] if deterministic else None,
        "verdict_reason": deterministic[1] if deterministic else None,
        "trials_so_far": trials,
        "created_at": datetime.now(UTC).isoformat(),
        "assessor": provider,
        "hypotheses": judged.hypotheses,
        "llm_model": model,
    }
    path = write_assessment(settings.path("strategies"), assessment, operation_id)
    logger.info(
        "operation %s: %s judged %s %s",
        operation_id,
        model,
        request["strategy_name"],
        verdict,
    )
    return {"assessment_path": str(path), "verdict": verdict, **session.usage.summary()}


def assessment_tool() -> ToolSpec:
    """The ``save_assessment`` tool: verdict, strengths, weaknesses, suggestions, hypotheses."""
    schema = LLMAssessment.model_json_schema()
    schema.pop("title", None)
    for field in schema["properties"].values():
        field.pop("title", None)
    return ToolSpec(TOOL_NAME, "Save the assessment of this research cycle.", schema)


def accept_assessment(arguments: dict[str, Any]) -> LLMAssessment:
    """The checked tool input; ``ToolInputError`` with field paths when it does not fit."""
    try:
        return LLMAssessment.model_validate(arguments)
    except PydanticValidationError as exc:
        raise ToolInputError(
            [
                {"path": ".".join(str(part) for part in error["loc"]), "message": error["msg"]}
                for error in exc.errors(include_url=False)
            ]
        ) from exc


def assessment_prompt(
    request: Mapping[str, Any],
    trials_so_far: int,
    strategy: StrategyConfig | None,
    guard: PromptGuard | None,
) -> str:
    """The user message: the strategy, training and backtest metrics, and the gate outcomes.

    Only whitelisted fields of the results are shown; with a ``guard`` (always, in a job) the
    text is scrubbed, and when blind the strategy's date ranges and the backtest's dates are
    left out (bar counts stay).
    """
    blind = guard is not None and guard.blind
    shown = _strategy_text(strategy, blind) if strategy else "(strategy file unknown)"
    sections = [
        f"# Strategy {request['strategy_name']}\n{shown}",
        f"# Training (walk-forward)\n{_json(_training_view(request.get('training_result')))}",
        "# Backtest (walk-forward, out-of-sample)\n"
        + _json(_backtest_view(request.get("backtest_result"), blind)),
        f"# Gates\n{_json(request.get('gates') or {})}",
        *_verdict_sections(request),
        f"This is trial number {trials_so_far} on this data set. Call {TOOL_NAME} with your "
        "judgement.",
    ]
    text = "\n\n".join(sections)
    return guard.text(text) if guard else text


def _verdict_sections(request: Mapping[str, Any]) -> list[str]:
    """The research-window statistics and the deterministic verdict, which caps the model's."""
    deterministic = deterministic_verdict(request)
    if deterministic is None:
        return []
    verdict, reason = deterministic
    statistics = {key: (request.get("statistics") or {}).get(key) for key in STATISTICS_SHOWN}
    return [
        "# Statistics (walk-forward out-of-sample, this data set's trials)\n" + _json(statistics),
        f"# Deterministic verdict\n{verdict}: {reason}\nYour verdict may be lower than "
        f"{verdict}, never higher; cite these statistics.",
    ]


def _strategy(request: Mapping[str, Any]) -> StrategyConfig | None:
    path = request.get("strategy_path")
    return load_strategy(path) if path else None


def _guard(
    strategy: StrategyConfig | None, settings: Settings, operations: OperationsService
) -> PromptGuard | None:
    if strategy is None:
        return None
    data = DataRepository(settings.path("data"))
    windows = DataWindows(operations.store.engine, data, holdout_fraction=settings.holdout_fraction)
    holdout = windows.holdout_start(strategy.symbols(), strategy.timeframes())
    known = (info.symbol for info in data.list())
    return PromptGuard.for_symbols(strategy.symbols(), known, holdout, blind=settings.llm_blind)


def _strategy_text(strategy: StrategyConfig, blind: bool) -> str:
    if blind:
        undated = {"training_data": strategy.training_data.model_copy(update={"date_range": None})}
        if strategy.backtest is not None:
            undated["backtest"] = strategy.backtest.model_copy(update={"date_range": None})
        strategy = strategy.model_copy(update=undated)
    return dump_strategy_yaml(strategy)


def _training_view(result: Mapping[str, Any] | None) -> dict[str, Any] | None:
    if not result:
        return None
    metrics = result.get("training_metrics") or {}
    history = metrics.get("history") or {}
    return {
        "test_metrics": result.get("test_metrics"),
        "epochs_run": metrics.get("epochs_run"),
        "best_epoch": metrics.get("best_epoch"),
        "train_loss": _ends(history.get("train_loss")),
        "val_loss": _ends(history.get("val_loss")),
        "val_accuracy": _ends(history.get("val_accuracy")),
        "label_distribution": result.get("label_distribution"),
        "n_samples": result.get("n_samples"),
    }


def _backtest_view(result: Mapping[str, Any] | None, blind: bool) -> dict[str, Any] | None:
    if not result:
        return None
    keys = ("metrics", "bars") if blind else ("metrics", "start_date", "end_date", "bars")
    return {key: result.get(key) for key in keys}


def _ends(values: Any) -> dict[str, Any] | None:
    if not isinstance(values, list) or not values:
        return None
    return {"first": values[0], "min": min(values), "last": values[-1]}


def _research_model(operations: OperationsService, request: Mapping[str, Any]) -> str | None:
    # The trigger stored the assessor's resolved model on the research operation.
    experiment_id = request.get("experiment_id")
    if not experiment_id:
        return None
    try:
        params = operations.get(experiment_id).metadata.parameters
    except NotFoundError:
        return None
    return params.get("assessor_model")


def _is_map(value: Any) -> bool:
    return isinstance(value, Mapping)


def _json(value: Any) -> str:
    return json.dumps(value, indent=1, default=str, allow_nan=True)
