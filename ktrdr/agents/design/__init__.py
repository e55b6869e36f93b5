"""Strategy designers: the offline Optuna designer and the design job the research cycle runs."""

from __future__ import annotations

from ktrdr.agents.design.offline import OfflineDesigner

__all__ = ["OfflineDesigner"]
