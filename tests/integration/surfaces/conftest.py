"""Surface tests: the data, strategies, training and backtest endpoints and CLI commands.

Servers are module-scoped (a worker pool takes seconds to spawn); tests sharing one use
distinct symbols or read only what they wrote themselves.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from click.testing import Result
from integration.conftest import LiveServer, make_settings, run_live_server
from typer.testing import CliRunner

from ktrdr.cli.main import app

REPO_ROOT = Path(__file__).resolve().parents[3]
EXAMPLES = REPO_ROOT / "examples" / "strategies"
EXAMPLE = EXAMPLES / "eurusd_rsi_macd_mlp.yaml"

Cli = Callable[..., Result]


def run_cli(base_url: str, *args: str) -> Result:
    """``ktrdr --url <base_url> <args>`` in-process, without a token from the environment."""
    return CliRunner().invoke(app, ["--url", base_url, *args], env={"KTRDR_API_TOKEN": None})


def example_strategy() -> dict[str, Any]:
    """The EURUSD RSI/MACD example as a JSON-ready dict (dates as text), to change."""
    return json.loads(json.dumps(yaml.safe_load(EXAMPLE.read_text()), default=str))


def tiny_strategy() -> dict[str, Any]:
    """The example with 2 epochs and one 8-unit layer: trains in seconds.

    It trains to 2017-10-31 and backtests November 2017, both before the EURUSD 1h holdout
    (from 2017-12-08, the last 20 % of the sample's bars).
    """
    strategy = copy.deepcopy(example_strategy())
    strategy["training_data"]["date_range"] = {"start": "2017-04-19", "end": "2017-10-31"}
    strategy["backtest"]["date_range"] = {"start": "2017-11-01", "end": "2017-11-30"}
    strategy["training"]["epochs"] = 2
    strategy["model"]["architecture"]["hidden_layers"] = [8]
    return strategy


def write_yaml(path: Path, data: dict[str, Any]) -> Path:
    """Write ``data`` as YAML to ``path`` and return the path."""
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


@pytest.fixture(scope="module")
def plain_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    """A server without workers (data and strategies need none)."""
    home = tmp_path_factory.mktemp("plain") / "ktrdr_home"
    with run_live_server(make_settings(home)) as server:
        yield server


@pytest.fixture(scope="module")
def job_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    """A server with one worker process, for trainings and backtests."""
    home = tmp_path_factory.mktemp("jobs") / "ktrdr_home"
    with run_live_server(make_settings(home, workers=1), with_executor=True) as server:
        yield server
