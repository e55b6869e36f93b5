"""The LLM designer: the model writes a strategy through the ``save_strategy_config`` tool.

The prompt holds the strategy format, the indicator catalogue, the data actually available,
the user's brief and a summary of past experiments; the tool's input is checked by the one
validator (plus data availability) and refused inputs go back to the model with their field
paths, up to ``KTRDR_AGENT_MAX_TURNS`` calls.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from ktrdr.agents.llm import (
    STRATEGY_FORMAT,
    ToolInputError,
    ToolLoopExhausted,
    ToolSpec,
    data_summary,
    experiments_summary,
    indicator_catalogue,
    resolve_model,
    run_tool_loop,
    strategy_tool_schema,
)
from ktrdr.agents.llm.runtime import job_session, run_job_calls
from ktrdr.agents.memory import ExperimentMemory, ExperimentRecord
from ktrdr.data import DataRepository
from ktrdr.errors import (
    DataError,
    JobError,
    NotFoundError,
    StrategyValidationError,
    ValidationError,
)
from ktrdr.execution import JobReporter, worker_operations
from ktrdr.settings import Settings, get_settings
from ktrdr.strategy import StrategyConfig, dump_strategy_yaml, save_strategy, validate_strategy

logger = logging.getLogger(__name__)

TOOL_NAME = "save_strategy_config"
MAX_NAME_LENGTH = 64
SYSTEM_PROMPT = (
    "You are a quantitative researcher designing neuro-fuzzy trading strategies for ktrdr. "
    "Each strategy is trained as a small neural network on fuzzy memberships and raw indicator "
    "values, then backtested on later, unseen data. Design one new strategy that tests a clear "
    "hypothesis, learns from the past experiments, and does not repeat one of them. Save it by "
    f"calling {TOOL_NAME}; if it is refused, fix every listed error and call it again."
)


def design_with_llm(operation_id: str, request: dict[str, Any]) -> dict[str, Any]:
    """Design and save one strategy with the request's provider; the design job's result."""
    provider = request["designer"]
    settings = get_settings()
    operations = worker_operations()
    reporter = JobReporter(operation_id)
    model = resolve_model(settings, provider, request.get("model"))
    data = DataRepository(settings.path("data"))
    reporter.progress(percentage=5, current_step="reading the experiment memory")
    prompt = design_prompt(
        request.get("brief"), data, ExperimentMemory(operations.store.engine).list(limit=20)
    )
    session = job_session(provider, settings, operations, reporter, "design")
    reporter.progress(percentage=10, current_step=f"asking {model}")

    async def converse() -> StrategyConfig:
        return await run_tool_loop(
            session,
            model=model,
            system=SYSTEM_PROMPT,
            prompt=prompt,
            tool=strategy_tool(),
            accept=lambda arguments: accept_strategy(arguments, data),
            max_turns=settings.agent_max_turns,
        )

    try:
        config = run_job_calls(session, converse, reporter)
    except ToolLoopExhausted as exc:
        raise JobError(
            f"no valid strategy after {exc.attempts} attempts: {exc.last_errors}",
            details=session.usage.summary(),
        ) from exc
    path = _save_fresh(config, settings)
    logger.info("operation %s: %s designed %s", operation_id, model, path.stem)
    return {
        "strategy_name": path.stem,
        "strategy_path": str(path),
        "designer": provider,
        "llm_model": model,
        **session.usage.summary(),
        "design": {
            "provider": provider,
            "model": model,
            "calls": session.usage.calls,
            "cache_hits": session.usage.cache_hits,
        },
    }


def strategy_tool() -> ToolSpec:
    """The ``save_strategy_config`` tool: its input schema is the strategy model's."""
    return ToolSpec(
        name=TOOL_NAME,
        description="Validate and save one complete ktrdr strategy; errors come back with paths.",
        input_schema=strategy_tool_schema(),
    )


def design_prompt(brief: str | None, data: DataRepository, records: list[ExperimentRecord]) -> str:
    """The user message: format, indicator catalogue, data, brief and past experiments."""
    return "\n\n".join(
        [
            f"# Strategy format\n{STRATEGY_FORMAT}",
            f"# Indicators (name: param:type=default [range] -> outputs)\n{indicator_catalogue()}",
            f"# Available data (use only these)\n{data_summary(data.list())}",
            f"# Brief\n{brief or 'No brief: choose a promising market and idea yourself.'}",
            "# Past experiments (newest first; do not repeat them)\n"
            + experiments_summary(records),
            f"Design one new strategy and call {TOOL_NAME}.",
        ]
    )


def accept_strategy(arguments: dict[str, Any], data: DataRepository) -> StrategyConfig:
    """The validated strategy; ``ToolInputError`` listing every issue with its field path."""
    try:
        config = validate_strategy(arguments, source=TOOL_NAME)
    except StrategyValidationError as exc:
        raise ToolInputError(exc.issues) from exc
    except ValidationError as exc:
        raise ToolInputError([{"path": "", "message": exc.message}]) from exc
    issues = data_issues(config, data)
    if issues:
        raise ToolInputError(issues)
    return config


def data_issues(config: StrategyConfig, data: DataRepository) -> list[dict[str, str]]:
    """Symbols and timeframes the strategy needs that the repository cannot supply."""
    issues = []
    for symbol in config.symbols():
        for timeframe in config.timeframes():
            try:
                data.available_range(symbol, timeframe)
            except (DataError, NotFoundError, ValidationError) as exc:
                issues.append({"path": "training_data", "message": exc.message})
    return issues


def _save_fresh(config: StrategyConfig, settings: Settings) -> Path:
    # Never overwrite a different strategy of the same name; a replayed identical one is reused.
    directory = settings.path("strategies")
    name, number = config.name, 1
    while True:
        candidate = config.model_copy(update={"name": name})
        target = directory / f"{name}.yaml"
        if not target.exists():
            return save_strategy(candidate, directory)
        if target.read_text(encoding="utf-8") == dump_strategy_yaml(candidate):
            return target
        number += 1
        suffix = f"_{number}"
        name = config.name[: MAX_NAME_LENGTH - len(suffix)] + suffix
