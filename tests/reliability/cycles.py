"""Helpers of the reliability tests: tiny strategies, triggers, terminal waits, artifact checks."""

from __future__ import annotations

import json
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd
from support.server import ServerProcess

from ktrdr.strategy import load_strategy
from ktrdr.training.predictor import Predictor


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
