"""The LLM designer: the model writes a strategy through the ``save_strategy_config`` tool.

The prompt holds the strategy format, the indicator catalogue, the market to design for (its
research window's initial training span, profiled), the user's brief and a summary of past
walk-forward experiments; the tool's input is checked by the one validator (plus data
availability) and refused inputs go back to the model with their field paths, up to
``KTRDR_AGENT_MAX_TURNS`` calls.

Nothing at or after the data set's holdout start reaches the model, and with ``KTRDR_LLM_BLIND``
(default) no calendar date or real symbol either (a ``PromptGuard`` scrubs every text built from
data, memory or errors). The model may write the market's alias, its real name or no symbol, and
no date range: the system writes the real data set and its research window into the strategy.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import numpy as np

from ktrdr.agents.design.offline import resolve_market
from ktrdr.agents.design.research import (
    HoldoutSource,
    ResearchData,
    research_data,
    research_days,
)
from ktrdr.agents.llm import (
    STRATEGY_FORMAT,
    PromptGuard,
    ToolInputError,
    ToolLoopExhausted,
    ToolSpec,
    experiments_summary,
    indicator_catalogue,
    resolve_model,
    run_tool_loop,
    strategy_tool_schema,
)
from ktrdr.agents.llm.runtime import job_session, run_job_calls
from ktrdr.agents.memory import WALK_FORWARD, ExperimentMemory, ExperimentRecord
from ktrdr.data import DataRepository, DataWindows
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
PAST_EXPERIMENTS = 20
MEMORY_SCAN = 500  # newest rows searched for this data set's PAST_EXPERIMENTS
SYSTEM_PROMPT = (
    "You are a quantitative researcher designing neuro-fuzzy trading strategies for ktrdr. "
    "Each strategy is trained as a small neural network on fuzzy memberships and raw indicator "
    "values and evaluated walk-forward: backtested on out-of-sample slices of the market's "
    "research window that its fold models never trained on. Design one new strategy that tests "
    "a clear hypothesis, learns from the past experiments, and does not repeat one of them. "
    f"Save it by calling {TOOL_NAME}; if it is refused, fix every listed error and call it again."
)


def design_with_llm(operation_id: str, request: dict[str, Any]) -> dict[str, Any]:
    """Design and save one strategy with the request's provider; the design job's result."""
    provider = request["designer"]
    settings = get_settings()
    operations = worker_operations()
    reporter = JobReporter(operation_id)
    model = resolve_model(settings, provider, request.get("model"))
    data = DataRepository(settings.path("data"))
    windows = DataWindows(operations.store.engine, data, holdout_fraction=settings.holdout_fraction)
    symbol, timeframe = resolve_market(
        request.get("brief"), data, request.get("symbol"), request.get("timeframe")
    )
    research = research_data(data, windows, symbol, timeframe)
    guard = PromptGuard.for_symbols(
        [symbol], (d.symbol for d in data.list()), research.holdout_start, blind=settings.llm_blind
    )
    reporter.progress(percentage=5, current_step="reading the experiment memory")
    # This data set's experiments only: another market's research window may span this one's
    # holdout, and markets move together (DESIGN §11).
    recent = ExperimentMemory(operations.store.engine).list(
        limit=MEMORY_SCAN, protocol=WALK_FORWARD
    )
    records = [r for r in recent if r.researched(symbol, timeframe)][:PAST_EXPERIMENTS]
    prompt = design_prompt(request.get("brief"), research, records, guard)
    session = job_session(provider, settings, operations, reporter, "design")
    reporter.progress(percentage=10, current_step=f"asking {model}")

    async def converse() -> StrategyConfig:
        return await run_tool_loop(
            session,
            model=model,
            system=SYSTEM_PROMPT,
            prompt=prompt,
            tool=strategy_tool(guard),
            accept=lambda arguments: accept_strategy(arguments, data, windows, research, guard),
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


def strategy_tool(guard: PromptGuard | None = None) -> ToolSpec:
    """The ``save_strategy_config`` tool: its input schema is the strategy model's.

    Without date ranges (the system writes them); with a ``guard``, its texts scrubbed.
    """
    return ToolSpec(
        name=TOOL_NAME,
        description="Validate and save one complete ktrdr strategy; errors come back with paths.",
        input_schema=strategy_tool_schema(guard.text if guard else None),
    )


def design_prompt(
    brief: str | None,
    research: ResearchData,
    records: list[ExperimentRecord],
    guard: PromptGuard,
) -> str:
    """The user message: format, indicator catalogue, market, brief and past experiments."""
    return "\n\n".join(
        [
            f"# Strategy format\n{STRATEGY_FORMAT}",
            f"# Indicators (name: param:type=default [range] -> outputs)\n{indicator_catalogue()}",
            f"# Market (design for this one)\n{market_summary(research, guard)}",
            f"# Brief\n{guard.text(brief) if brief else 'No brief: choose a promising idea.'}",
            "# Past experiments (newest first; do not repeat them)\n"
            + guard.text(experiments_summary(records)),
            f"Design one new strategy and call {TOOL_NAME}.",
        ]
    )


def market_summary(research: ResearchData, guard: PromptGuard) -> str:
    """The market as the model may see it: bar counts, and figures of the training span only.

    Blind: ``ASSET_1 1h: research window of 4000 bars; ...`` with prices normalised to the
    span's first close = 100. Not blind: the real symbol, the research window's first and last
    day (both before the holdout) and the real price level as well.
    """
    name = guard.name(research.symbol)
    bars, span = research.bars, research.training_bars
    window = f"{name} {research.timeframe}: research window of {len(bars)} bars"
    if not guard.blind:
        window += f", {bars.index[0].date()} .. {bars.index[-1].date()}"
    close = span["close"].to_numpy(dtype=float)
    scaled = close / close[0] * 100.0
    moves = np.abs(np.diff(close) / close[:-1])
    ranges = (span["high"] - span["low"]).to_numpy(dtype=float) / close
    lines = [
        window,
        f"The design sees its initial training span, the first {len(span)} bars: the walk-forward "
        "folds test on the bars after it, and a later part of the data is sealed as a holdout "
        "that no design sees.",
        f"Training span, closes scaled to its first close = 100: min {scaled.min():.2f}, max "
        f"{scaled.max():.2f}, last {scaled[-1]:.2f}; median |bar return| "
        f"{np.median(moves) * 100:.4f} %; median bar range (high-low)/close "
        f"{np.median(ranges) * 100:.4f} %.",
        f"Write the symbol as {name} or leave it out; higher timeframes of {name} are resampled "
        "from its bars.",
    ]
    if not guard.blind:
        lines.insert(3, f"Price level: first close {close[0]:.6g}, last close {close[-1]:.6g}.")
    return "\n".join(lines)


def accept_strategy(
    arguments: dict[str, Any],
    data: DataRepository,
    windows: HoldoutSource,
    research: ResearchData,
    guard: PromptGuard,
) -> StrategyConfig:
    """The validated strategy on the real data set and its research window.

    The model's symbol (alias, real name or none) becomes the real symbol, any date range it
    wrote is dropped, and ``training_data.date_range`` becomes the research window in whole days
    (the earliest holdout start of the strategy's timeframes). ``ToolInputError`` lists every
    issue with its field path, its messages scrubbed by ``guard``.
    """
    try:
        document = on_research_data(arguments, research, guard)
        config = _validated(document, data)
        holdout = windows.holdout_start(config.symbols(), config.timeframes())
        start, end = research_days(research.bars.index[0], holdout)
        document["training_data"]["date_range"] = {"start": start, "end": end}
        return _validated(document, data)
    except ToolInputError as exc:
        raise ToolInputError(guard.issues(exc.issues)) from exc
    except (DataError, NotFoundError, ValidationError) as exc:
        raise ToolInputError(guard.issues([{"path": "", "message": exc.message}])) from exc


def on_research_data(
    arguments: dict[str, Any], research: ResearchData, guard: PromptGuard
) -> dict[str, Any]:
    """A copy of the tool input with the real symbol and no date ranges."""
    document = dict(arguments)
    training_data = dict(document.get("training_data") or {})
    written = _written_symbols(training_data.get("symbols"))
    others = [symbol for symbol in written if not guard.means(symbol, research.symbol)]
    if others:
        name = guard.name(research.symbol)
        raise ToolInputError(
            [
                {
                    "path": "training_data.symbols",
                    "message": f"{', '.join(others)} is not this design's market: write {name} "
                    "or leave the symbol out",
                }
            ]
        )
    training_data["symbols"] = {"mode": "single", "symbol": research.symbol}
    training_data.setdefault("timeframes", {"mode": "single", "timeframe": research.timeframe})
    training_data.pop("date_range", None)
    document["training_data"] = training_data
    if isinstance(document.get("backtest"), dict):
        document["backtest"] = {k: v for k, v in document["backtest"].items() if k != "date_range"}
    return document


def _written_symbols(selection: Any) -> list[str]:
    if not isinstance(selection, dict):
        return []
    written = selection.get("list") if "list" in selection else [selection.get("symbol")]
    if not isinstance(written, list):
        return [str(written)]
    return [str(symbol) for symbol in written if symbol is not None]


def _validated(document: dict[str, Any], data: DataRepository) -> StrategyConfig:
    try:
        config = validate_strategy(document, source=TOOL_NAME)
    except StrategyValidationError as exc:
        raise ToolInputError(exc.issues) from exc
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
