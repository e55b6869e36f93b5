"""What an assessment request carries beyond the results: the trial count and the
deterministic research-window verdict (DESIGN §11)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ktrdr.agents.memory import ExperimentMemory
from ktrdr.execution import worker_operations


def trials_so_far(request: Mapping[str, Any]) -> int:
    """The data set's trial count from the request's statistics; without them (a cycle that
    never reached its walk-forward backtest) the experiments recorded so far plus this one."""
    counted = (request.get("statistics") or {}).get("n_trials")
    if isinstance(counted, int):
        return counted
    return ExperimentMemory(worker_operations().store.engine).count() + 1


def deterministic_verdict(request: Mapping[str, Any]) -> tuple[str, str] | None:
    """The request's ``(deterministic_verdict, verdict_reason)``, None when it carries none."""
    verdict = request.get("deterministic_verdict")
    if verdict is None:
        return None
    return str(verdict), str(request.get("verdict_reason") or "")
