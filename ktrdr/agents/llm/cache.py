"""The replay cache: an LLM response stored under a hash of the full request."""

from __future__ import annotations

import hashlib
import json
import logging
from datetime import UTC, datetime

from sqlalchemy import Engine, insert, select
from sqlalchemy.exc import IntegrityError

from ktrdr.agents.llm._types import LLMRequest, LLMResponse
from ktrdr.operations.database import read_connection, write_transaction
from ktrdr.operations.schema import llm_cache as table

logger = logging.getLogger(__name__)


def request_key(provider: str, request: LLMRequest) -> str:
    """SHA-256 of the provider and the whole request (model, prompts, conversation, tools)."""
    payload = json.dumps(
        {"provider": provider, "request": request.to_dict()}, sort_keys=True, default=str
    )
    return hashlib.sha256(payload.encode("utf-8")).hexdigest()


class ResponseCache:
    """Responses in the ``llm_cache`` table, so a rerun replays a cycle exactly at no cost."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def get(self, key: str) -> LLMResponse | None:
        """The stored response for ``key`` (marked ``cached``), or None."""
        with read_connection(self.engine) as conn:
            row = conn.execute(select(table.c.response).where(table.c.cache_key == key)).first()
        return None if row is None else LLMResponse.from_dict(row.response, cached=True)

    def put(self, key: str, provider: str, response: LLMResponse) -> None:
        """Store ``response`` under ``key``; the first stored answer wins."""
        row = {
            "cache_key": key,
            "created_at": datetime.now(UTC),
            "provider": provider,
            "model": response.model,
            "response": response.to_dict(),
        }
        try:
            with write_transaction(self.engine) as conn:
                conn.execute(insert(table).values(**row))
        except IntegrityError:
            logger.debug("llm cache: %s already stored", key)
