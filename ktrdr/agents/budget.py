"""The daily LLM budget: a ledger of every paid call, today's spend, and cycle cost estimates."""

from __future__ import annotations

import logging
import math
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Engine, func, insert, select

from ktrdr.agents.llm import call_cost
from ktrdr.agents.llm._schema import llm_spend as table
from ktrdr.errors import BudgetExhaustedError
from ktrdr.operations.database import read_connection, write_transaction
from ktrdr.settings import Settings

logger = logging.getLogger(__name__)

RECENT_PHASES = 5  # the estimate averages the last 5 design (assessment) ops of a model
DEFAULT_PHASE_TOKENS = {"design": (30_000, 6_000), "assessment": (5_000, 1_500)}  # (in, out)


def utc_day(moment: datetime | None = None) -> str:
    """The UTC calendar day of ``moment`` (default now), e.g. ``"2026-03-01"``."""
    return (moment or datetime.now(UTC)).astimezone(UTC).date().isoformat()


class BudgetLedger:
    """Paid LLM calls in the ``llm_spend`` table against ``KTRDR_AGENT_DAILY_BUDGET`` (USD/day).

    ``models`` arguments map a phase to its model, e.g. ``{"design": "claude-sonnet-4-5",
    "assessment": "claude-sonnet-4-5"}``; phases run offline are left out.
    """

    def __init__(self, engine: Engine, settings: Settings) -> None:
        self.engine = engine
        self.settings = settings

    def record(
        self,
        *,
        operation_id: str,
        research_id: str | None,
        purpose: str,
        provider: str,
        model: str,
        input_tokens: int,
        output_tokens: int,
        cost_usd: float,
    ) -> None:
        """Add one paid call to the ledger."""
        now = datetime.now(UTC)
        with write_transaction(self.engine) as conn:
            conn.execute(
                insert(table).values(
                    created_at=now,
                    day=utc_day(now),
                    operation_id=operation_id,
                    research_id=research_id,
                    purpose=purpose,
                    provider=provider,
                    model=model,
                    input_tokens=input_tokens,
                    output_tokens=output_tokens,
                    cost_usd=cost_usd,
                )
            )
        logger.info(
            "operation %s: %s %s spent $%.4f (%d in, %d out)",
            operation_id,
            provider,
            model,
            cost_usd,
            input_tokens,
            output_tokens,
        )

    def spent_today(self) -> float:
        """USD spent since 00:00 UTC."""
        query = select(func.coalesce(func.sum(table.c.cost_usd), 0.0)).where(
            table.c.day == utc_day()
        )
        with read_connection(self.engine) as conn:
            return float(conn.execute(query).scalar_one())

    def estimate_phase(self, purpose: str, model: str) -> float:
        """USD one phase costs with ``model``: the mean of its last 5 ops, else a default guess."""
        query = (
            select(table.c.operation_id, table.c.cost_usd)
            .where(table.c.purpose == purpose, table.c.model == model)
            .order_by(table.c.created_at.desc(), table.c.id.desc())
            .limit(RECENT_PHASES * 20)
        )
        with read_connection(self.engine) as conn:
            rows = conn.execute(query).all()
        per_operation: dict[str, float] = {}
        for operation_id, cost in rows:
            if operation_id in per_operation or len(per_operation) < RECENT_PHASES:
                per_operation[operation_id] = per_operation.get(operation_id, 0.0) + cost
        if per_operation:
            return sum(per_operation.values()) / len(per_operation)
        input_tokens, output_tokens = DEFAULT_PHASE_TOKENS[purpose]
        return call_cost(self.settings, model, input_tokens, output_tokens)

    def estimate_cycle(self, models: Mapping[str, str]) -> float:
        """USD one cycle with these phase models is expected to cost."""
        return sum(self.estimate_phase(purpose, model) for purpose, model in models.items())

    def check_affordable(self, models: Mapping[str, str]) -> None:
        """Raise ``BudgetExhaustedError`` when today's remaining budget is below one cycle."""
        limit = self.settings.agent_daily_budget
        if not limit or not models:
            return
        remaining = limit - self.spent_today()
        estimate = self.estimate_cycle(models)
        if remaining < estimate:
            raise BudgetExhaustedError(
                f"daily LLM budget exhausted: ${remaining:.4f} of ${limit:.2f} left today, "
                f"a cycle costs about ${estimate:.4f}; raise KTRDR_AGENT_DAILY_BUDGET or wait "
                "for 00:00 UTC",
                details={
                    "reason": "budget_exhausted",
                    "daily_limit_usd": limit,
                    "remaining_usd": round(remaining, 6),
                    "estimated_cycle_usd": round(estimate, 6),
                },
            )

    def summary(self, models: Mapping[str, str]) -> dict[str, Any]:
        """Limit, spent today, remaining, and how many cycles with ``models`` still fit."""
        limit = self.settings.agent_daily_budget
        spent = self.spent_today()
        estimate = self.estimate_cycle(models)
        remaining = max(limit - spent, 0.0) if limit else None
        affordable = None
        if remaining is not None and estimate > 0:
            affordable = math.floor(remaining / estimate)
        return {
            "day": utc_day(),
            "daily_limit_usd": limit or None,
            "spent_today_usd": round(spent, 6),
            "remaining_usd": None if remaining is None else round(remaining, 6),
            "estimated_cycle_usd": round(estimate, 6),
            "cycles_affordable": affordable,
            "models": dict(models),
            "message": _message(limit, models),
        }


def _message(limit: float, models: Mapping[str, str]) -> str | None:
    if not models:
        return "offline designer and assessor: cycles cost nothing"
    if not limit:
        return "no daily budget (KTRDR_AGENT_DAILY_BUDGET=0): unlimited"
    return None
