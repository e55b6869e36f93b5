"""`scripts/e2e_agent.sh` against a real server: the acceptance check of the research cycle."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from support.server import ServerProcess

ROOT = Path(__file__).resolve().parents[2]


def test_e2e_agent_script_passes_against_a_running_server(tmp_path: Path) -> None:
    home = tmp_path / "home"
    home.mkdir()
    server = ServerProcess(home).start()
    try:
        cli = Path(sys.executable).parent / "ktrdr"
        result = subprocess.run(
            ["bash", str(ROOT / "scripts" / "e2e_agent.sh")],
            env={**os.environ, "KTRDR_API_URL": server.url, "KTRDR_CLI": str(cli)},
            capture_output=True,
            text=True,
            timeout=600,
        )
    finally:
        server.stop()
    assert result.returncode == 0, result.stdout + result.stderr
    assert "e2e_agent: ok (training op_training_" in result.stdout
