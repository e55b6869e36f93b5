"""examples/notebooks/quickstart.ipynb runs top to bottom against a real `ktrdr serve`."""

from __future__ import annotations

import json
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient
from support.server import ServerProcess

ROOT = Path(__file__).resolve().parents[2]
NOTEBOOK = ROOT / "examples" / "notebooks" / "quickstart.ipynb"
CELL_TIMEOUT_SECONDS = 600


def _outputs(cell: nbformat.NotebookNode) -> dict[str, str]:
    """The cell's display data by MIME type (text joined), stream text under ``stream``."""
    shown: dict[str, str] = {}
    for output in cell.get("outputs", []):
        if output["output_type"] == "stream":
            shown["stream"] = shown.get("stream", "") + output["text"]
        for mime, value in output.get("data", {}).items():
            shown[mime] = value if isinstance(value, str) else json.dumps(value)
    return shown


def _cell(notebook: nbformat.NotebookNode, tag: str) -> nbformat.NotebookNode:
    return next(c for c in notebook.cells if tag in c.get("metadata", {}).get("tags", []))


def test_the_quickstart_notebook_runs_two_cycles_shows_a_report_and_compares_them(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    home = tmp_path / "home"
    home.mkdir()
    server = ServerProcess(home).start()
    monkeypatch.setenv("KTRDR_API_URL", server.url)  # the kernel inherits the environment
    monkeypatch.delenv("KTRDR_API_TOKEN", raising=False)
    notebook = nbformat.read(NOTEBOOK, as_version=4)
    try:
        NotebookClient(
            notebook,
            timeout=CELL_TIMEOUT_SECONDS,
            kernel_name="python3",
            resources={"metadata": {"path": str(tmp_path)}},
        ).execute()
    finally:
        nbformat.write(notebook, tmp_path / "quickstart.executed.ipynb")
        server.stop()

    data = _outputs(_cell(notebook, "data"))
    windows = _outputs(_cell(notebook, "windows"))
    report = _outputs(_cell(notebook, "report"))
    figure = _outputs(_cell(notebook, "figure"))
    compared = _outputs(_cell(notebook, "compare"))
    first, second = (
        server_id.strip() for server_id in _outputs(_cell(notebook, "ids"))["stream"].split()
    )
    assert "BTCUSD" in data["text/html"]
    assert "BTCUSD" in windows["text/html"] and "holdout_start" in windows["text/html"]
    assert report["text/html"].startswith("<iframe") and "plotly" in report["text/html"]
    assert "application/vnd.plotly.v1+json" in figure
    assert first != second and first in compared["text/html"] and second in compared["text/html"]
