"""The API server process never imports torch (only worker processes load it), nor plotly until
it first draws a report."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

SERVE_AND_REPORT = """
import json, sys
from fastapi.testclient import TestClient
from ktrdr.api import create_app
from ktrdr.settings import get_settings

app = create_app(get_settings())
# entering the client runs the lifespan: build_services as `ktrdr serve` does
with TestClient(app, base_url="http://127.0.0.1") as client:
    health = client.get("/api/v1/health").status_code
    client.get("/api/v1/operations")
print(json.dumps({"health": health, "torch": "torch" in sys.modules,
                  "plotly": "plotly" in sys.modules}))
"""


def test_serving_the_api_does_not_import_torch(tmp_path: Path) -> None:
    env = {**os.environ, "KTRDR_HOME": str(tmp_path)}
    env.pop("KTRDR_DATABASE_URL", None)
    done = subprocess.run(
        [sys.executable, "-c", SERVE_AND_REPORT],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    report = json.loads(done.stdout.strip().splitlines()[-1])
    assert report == {"health": 200, "torch": False, "plotly": False}
