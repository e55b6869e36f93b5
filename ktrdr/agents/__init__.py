"""The agent layer: the research cycle's gates, experiment memory, designers and assessors.

Kept light on purpose: designers (``ktrdr.agents.design``), assessors
(``ktrdr.agents.assessment``) and the research worker are imported from their own modules.
"""

from __future__ import annotations

from ktrdr.agents.gates import (
    GateThresholds,
    check_backtest_gate,
    check_training_gate,
    gate_thresholds_dict,
)
from ktrdr.agents.memory import (
    SINGLE_WINDOW,
    WALK_FORWARD,
    ExperimentMemory,
    ExperimentRecord,
    experiment_score,
    summarize_experiments,
)
from ktrdr.agents.roles import ASSESSORS, DESIGNERS, OFFLINE

__all__ = [
    "ASSESSORS",
    "DESIGNERS",
    "OFFLINE",
    "SINGLE_WINDOW",
    "WALK_FORWARD",
    "ExperimentMemory",
    "ExperimentRecord",
    "GateThresholds",
    "check_backtest_gate",
    "check_training_gate",
    "experiment_score",
    "gate_thresholds_dict",
    "summarize_experiments",
]
