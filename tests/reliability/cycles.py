"""Helpers of the reliability tests: tiny strategies, triggers, terminal waits, artifact checks."""

from __future__ import annotations

import json
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd
import yaml
from support.eventually import eventually
from support.server import ServerProcess

from ktrdr.strategy import load_strategy, strategy_to_dict
from ktrdr.training.predictor import Predictor

EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "strategies"
LENIENT_GATES = {
    "training_min_accuracy": 0.0,
    "training_max_loss": 100.0,
    "training_min_loss_decrease": -100.0,
    "backtest_min_trades": 0,
    "backtest_min_win_rate": 0.0,
    "backtest_max_drawdown": 1.0,
    "backtest_min_sharpe": -1000.0,
}
CYCLE_TIMEOUT = 240.0
TERMINAL = {"completed", "failed", "cancelled"}


def write_quick_strategy(home: Path, name: str, epochs: int) -> str:
    """The EURUSD example with a tiny model and ``epochs`` epochs, in the server's catalog."""
    data = strategy_to_dict(load_strategy(EXAMPLES / "eurusd_rsi_macd_mlp.yaml"))
    data["name"] = name
    data["model"]["architecture"]["hidden_layers"] = [8]
    data["decisions"]["confidence_threshold"] = 0.34  # a tiny model is rarely confident
    data["training"].update({"epochs": epochs, "early_stopping": {"patience": epochs}})
    folder = home / "strategies"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / f"{name}.yaml").write_text(yaml.safe_dump(data, sort_keys=False))
    return name


def trigger(server: ServerProcess, **body: Any) -> str:
    """Trigger a cycle with lenient gates; its research operation id."""
    response = server.post("/agent/trigger", {"gates": LENIENT_GATES, **body})
    assert response.status_code == 202, response.text
    return response.json()["operation_id"]


def finished(server: ServerProcess, operation_id: str) -> dict[str, Any]:
    """The operation once it is terminal."""
    return eventually(
        lambda: (op := server.operation(operation_id))["status"] in TERMINAL and op,
        f"operation {operation_id} ends",
        timeout=CYCLE_TIMEOUT,
    )


def assert_nothing_running(server: ServerProcess) -> None:
    """No operation of any type is left pending or running."""
    active = server.get("/operations", active_only=True, limit=1000)["data"]
    assert [(op["operation_id"], op["status"]) for op in active] == []


def assert_artifacts_readable(research: dict[str, Any]) -> None:
    """Every artifact the cycle got to write loads; a completed cycle has all four.

    Strategy YAML, model bundle, backtest trades and assessment JSON, found through the research
    operation's ``metadata.parameters``.
    """
    params = research["metadata"]["parameters"]
    trades_path = ((params.get("backtest_result") or {}).get("artifacts") or {}).get("trades")
    if research["status"] == "completed":
        assert all((params.get("strategy_path"), params.get("model_path"), trades_path)), params
        assert params.get("assessment_path"), params
    assert load_strategy(params["strategy_path"]).name == params["strategy_name"]
    if params.get("model_path"):
        assert Predictor.load(params["model_path"]).feature_names
    if trades_path:
        assert list(pd.read_parquet(trades_path).columns)
    if params.get("assessment_path"):
        assessment = json.loads(Path(params["assessment_path"]).read_text())
        assert assessment["verdict"] == params["verdict"]


def assert_ended_by_the_work(research: dict[str, Any]) -> None:
    """Completed, or failed by a gate judging the strategy: never failed by the fault itself."""
    if research["status"] == "completed":
        return
    message = research["error_message"] or ""
    assert research["status"] == "failed", research
    assert message.startswith(("Training gate failed:", "Backtest gate failed:")), message


@dataclass
class PostgresCluster:
    """A throw-away PostgreSQL cluster we may restart; ``url`` reaches its ``postgres`` db."""

    pg_bin: Path
    workdir: Path
    port: int
    as_postgres: tuple[str, ...]

    @property
    def url(self) -> str:
        """The SQLAlchemy URL of its ``postgres`` database."""
        return f"postgresql://postgres@127.0.0.1:{self.port}/postgres"

    def pg_ctl(self, *args: str) -> None:
        """Run pg_ctl on the cluster (as the postgres user when we are root)."""
        subprocess.run(
            [
                *self.as_postgres,
                str(self.pg_bin / "pg_ctl"),
                "-D",
                str(self.workdir / "data"),
                *args,
            ],
            check=True,
            capture_output=True,
            timeout=120,
        )

    def start(self) -> None:
        """Start the server and wait until it accepts connections."""
        options = f"-p {self.port} -k {self.workdir} -c listen_addresses=127.0.0.1 -c fsync=off"
        self.pg_ctl("-l", str(self.workdir / "server.log"), "-w", "-o", options, "start")

    def restart(self) -> None:
        """Restart the server, disconnecting every client (fast shutdown)."""
        self.pg_ctl("-m", "fast", "-w", "stop")
        self.start()


def _pg_bin() -> Path | None:
    found = sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"))
    return found[-1].parent if found else None
