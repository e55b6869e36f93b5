"""Build valid strategies in tests without YAML files."""

from __future__ import annotations

from typing import Any

from ktrdr.strategy import validate_strategy
from ktrdr.strategy.schema import StrategyConfig


def make_strategy(
    indicators: dict[str, Any],
    nn_inputs: list[dict[str, Any]],
    *,
    fuzzy_sets: dict[str, Any] | None = None,
    timeframes: list[str] | None = None,
    model: dict[str, Any] | None = None,
    symbol: str = "TEST",
    name: str = "pipeline_test",
) -> StrategyConfig:
    """A valid strategy around the given indicators and inputs."""
    tfs = timeframes or ["1h"]
    selection = (
        {"mode": "single", "timeframe": tfs[0]}
        if len(tfs) == 1
        else {"mode": "multi_timeframe", "list": tfs, "base_timeframe": tfs[0]}
    )
    return validate_strategy(
        {
            "name": name,
            "training_data": {
                "symbols": {"mode": "single", "symbol": symbol},
                "timeframes": selection,
            },
            "indicators": indicators,
            "fuzzy_sets": fuzzy_sets or {},
            "nn_inputs": nn_inputs,
            "model": model or {"type": "mlp", "architecture": {"hidden_layers": [8]}},
            "training": {"labels": {"source": "zigzag", "zigzag_threshold": 0.01}},
        }
    )
