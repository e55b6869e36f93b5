"""`make bench`: run every benchmark script in turn; each writes benchmarks/results/<name>.md."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).parent
SCRIPTS = (
    "features.py",
    "backtest_engine.py",
    "sweep.py",
    "training.py",
    "operations_store.py",
    "research_cycle.py",
    "executors.py",
    "load.py",
    "server_startup.py",
    "report_page.py",
)


def main() -> int:
    """Run each benchmark that exists; non-zero if any failed."""
    failed = []
    for name in SCRIPTS:
        script = HERE / name
        if not script.exists():
            continue
        print(f"== {name}", flush=True)
        started = time.monotonic()
        code = subprocess.run([sys.executable, str(script)], check=False).returncode
        print(f"== {name}: exit {code} after {time.monotonic() - started:.0f}s", flush=True)
        if code:
            failed.append(name)
    if failed:
        print(f"failed: {', '.join(failed)}", file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
