"""Who may design and who may assess a research cycle: the offline rules or an LLM provider.

The names are defined once, as ``ktrdr.settings.AgentName`` (the settings validate
``KTRDR_AGENT_DESIGNER``/``KTRDR_AGENT_ASSESSOR`` against it and cannot import this layer).
"""

from __future__ import annotations

from ktrdr.settings import AGENT_NAMES

__all__ = ["ASSESSORS", "DESIGNERS", "OFFLINE"]

OFFLINE = "offline"
DESIGNERS: tuple[str, ...] = AGENT_NAMES
ASSESSORS: tuple[str, ...] = AGENT_NAMES
