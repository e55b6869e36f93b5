"""Run benchmarks/peers/pandas_ta_indicators.py under a Python 3.12 venv that has pandas-ta.

The venv is created once in bench-results/peer-venv (git-ignored) and reused.
"""

from __future__ import annotations

import json
import subprocess
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[2]
PEER_VENV = ROOT / "bench-results" / "peer-venv"
PEER_SCRIPT = Path(__file__).resolve().parent / "pandas_ta_indicators.py"
PYTHON_312 = Path("/root/.pyenv/versions/3.12.1/bin/python3.12")


def peer_python() -> tuple[Path | None, str]:
    """The peer venv's interpreter (created once with pandas-ta), or None and why not."""
    python = PEER_VENV / "bin" / "python"
    check = [str(python), "-c", "import pandas_ta"]
    if python.exists() and subprocess.run(check, capture_output=True).returncode == 0:
        return python, "cached"
    if not PYTHON_312.exists():
        return None, f"pandas-ta needs Python >= 3.12 and {PYTHON_312} does not exist"
    steps = [
        [str(PYTHON_312), "-m", "venv", str(PEER_VENV)],
        [str(python), "-m", "pip", "install", "--quiet", "pandas-ta"],
    ]
    for step in steps:
        done = subprocess.run(step, capture_output=True, text=True)
        if done.returncode != 0:
            return None, f"`{' '.join(step)}` failed: {done.stderr.strip()[-500:]}"
    return python, "created"


def run_pandas_ta(python: Path, bars: pd.DataFrame, repeat: int) -> tuple[dict, dict]:
    """Time pandas-ta in its interpreter on the same bars; return its report and its outputs."""
    with tempfile.TemporaryDirectory() as tmp:
        bars_path, out_path = Path(tmp, "bars.npz"), Path(tmp, "out.npz")
        columns = {c: bars[c].to_numpy() for c in bars.columns}
        np.savez(bars_path, timestamp=bars.index.asi8, **columns)
        command = [str(python), str(PEER_SCRIPT), str(bars_path), str(out_path), str(repeat)]
        done = subprocess.run(command, capture_output=True, text=True, check=True)
        report = json.loads(done.stdout.strip().splitlines()[-1])
        with np.load(out_path) as data:
            outputs = {key: data[key] for key in data.files}
    return report, outputs
