"""The design job: ``run_design_job(operation_id, request)`` in a worker (op agent_design)."""

from __future__ import annotations

import logging
from typing import Any

from ktrdr.agents.design.offline import OfflineDesigner
from ktrdr.agents.memory import MAX_PAGE_SIZE, WALK_FORWARD, ExperimentMemory, ExperimentRecord
from ktrdr.agents.roles import DESIGNERS, OFFLINE
from ktrdr.data import DataRepository, DataWindows
from ktrdr.errors import ValidationError
from ktrdr.execution import JobReporter, worker_operations
from ktrdr.settings import get_settings
from ktrdr.strategy import save_strategy

logger = logging.getLogger(__name__)


def run_design_job(operation_id: str, request: dict[str, Any]) -> dict[str, Any]:
    """Design one strategy and save ``strategies/<name>.yaml``; return the design summary.

    ``request``: ``{designer: "offline"|"anthropic"|"openai", brief, seed, model, symbol?,
    timeframe?}``; the offline designer ignores ``model`` (it calls no LLM) and reports no
    tokens and no cost; the LLM designers are in ``ktrdr.agents.design.llm``. Either designer
    reads the walk-forward experiments and the research window of the data set only; the
    holdout start comes from the store's data windows (frozen here if this is the data set's
    first use), so the request needs no window of its own.
    """
    designer = request.get("designer") or OFFLINE
    if designer not in DESIGNERS:
        raise ValidationError(
            f"designer {designer!r} is not available; available: {', '.join(DESIGNERS)}"
        )
    if designer != OFFLINE:
        from ktrdr.agents.design.llm import design_with_llm  # the SDKs load only when used

        return design_with_llm(operation_id, {**request, "designer": designer})
    settings = get_settings()
    seed = int(request.get("seed") if request.get("seed") is not None else settings.agent_seed)
    reporter = JobReporter(operation_id)

    reporter.progress(percentage=5, current_step="reading the experiment memory")
    engine = worker_operations().store.engine
    records = _walk_forward_records(ExperimentMemory(engine))
    reporter.check_cancelled()
    reporter.progress(percentage=20, current_step="searching the strategy space")
    data = DataRepository(settings.path("data"))
    config, design = OfflineDesigner(settings.resolved_database_url, seed=seed).design(
        brief=request.get("brief"),
        data=data,
        windows=DataWindows(engine, data, holdout_fraction=settings.holdout_fraction),
        memory_records=records,
        symbol=request.get("symbol"),
        timeframe=request.get("timeframe"),
    )
    reporter.check_cancelled()
    reporter.progress(percentage=90, current_step=f"saving {config.name}")
    path = save_strategy(config, settings.path("strategies"))
    logger.info(
        "operation %s: designed %s (trial %d)", operation_id, config.name, design["trial_number"]
    )
    reporter.done(f"designed {config.name} (trial {design['trial_number']})")
    return {
        "strategy_name": config.name,
        "strategy_path": str(path),
        "designer": designer,
        "llm_model": None,
        "tokens": {"input": 0, "output": 0},
        "cost_usd": 0.0,
        "design": design,
    }


def _walk_forward_records(memory: ExperimentMemory) -> list[ExperimentRecord]:
    records: list[ExperimentRecord] = []
    while True:
        page = memory.list(limit=MAX_PAGE_SIZE, offset=len(records), protocol=WALK_FORWARD)
        records.extend(page)
        if len(page) < MAX_PAGE_SIZE:
            return records
