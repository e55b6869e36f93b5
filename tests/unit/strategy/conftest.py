"""Fixtures for the strategy tests: the bundled examples and a valid strategy as plain data."""

from __future__ import annotations

import copy
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from ktrdr.errors import StrategyValidationError
from ktrdr.strategy import validate_strategy

EXAMPLES_DIR = Path(__file__).resolve().parents[3] / "examples" / "strategies"
BASE_EXAMPLE = EXAMPLES_DIR / "eurusd_rsi_macd_mlp.yaml"


@pytest.fixture
def examples_dir() -> Path:
    """The folder of bundled example strategies."""
    return EXAMPLES_DIR


@pytest.fixture
def strategy_data() -> dict[str, Any]:
    """A valid single-symbol EURUSD 1h strategy with a training range, as a fresh dict."""
    data = copy.deepcopy(yaml.safe_load(BASE_EXAMPLE.read_text()))
    data["training_data"]["date_range"] = {"start": "2017-04-19", "end": "2017-10-31"}
    return data


@pytest.fixture
def issues_of() -> Callable[[Any], list[dict[str, str]]]:
    """Validate data that must fail; return its issues."""

    def collect(data: Any) -> list[dict[str, str]]:
        with pytest.raises(StrategyValidationError) as caught:
            validate_strategy(data)
        return caught.value.issues

    return collect


@pytest.fixture
def issue_paths(issues_of) -> Callable[[Any], list[str]]:
    """Validate data that must fail; return the paths of its issues."""
    return lambda data: [issue["path"] for issue in issues_of(data)]
