"""Shared benchmark helpers: describe the machine, time a callable, format markdown tables."""

from __future__ import annotations

import os
import platform
import sys
import time
from collections.abc import Callable, Iterable, Sequence
from importlib import metadata
from pathlib import Path
from typing import Any

RESULTS_DIR = Path(__file__).resolve().parent / "results"


def cpu_model() -> str:
    """Return the CPU model name (from /proc/cpuinfo on Linux, else platform)."""
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.exists():
        for line in cpuinfo.read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    return platform.processor() or platform.machine()


def usable_cores() -> int:
    """Return the cores this process may run on (affinity), not the host's total."""
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0))
    return os.cpu_count() or 1


def package_version(name: str) -> str:
    """Return an installed distribution's version, or 'not installed'."""
    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return "not installed"


def describe_machine(packages: Iterable[str] = ("numpy", "pandas", "numba")) -> dict[str, str]:
    """Describe where a benchmark ran: CPU, cores, OS, Python and the given package versions."""
    machine = {
        "cpu": cpu_model(),
        "cores": f"{usable_cores()} usable of {os.cpu_count()}",
        "os": f"{platform.system()} {platform.release()}",
        "python": sys.version.split()[0],
    }
    machine.update({name: package_version(name) for name in packages})
    return machine


def best_time(function: Callable[[], Any], repeat: int) -> tuple[float, Any]:
    """Run ``function`` ``repeat`` times; return the fastest wall time (s) and the last result."""
    best, result = float("inf"), None
    for _ in range(repeat):
        start = time.perf_counter()
        result = function()
        best = min(best, time.perf_counter() - start)
    return best, result


def markdown_table(headers: Sequence[str], rows: Iterable[Sequence[Any]]) -> str:
    """Format rows as a GitHub markdown table."""
    lines = ["| " + " | ".join(headers) + " |", "|" + "---|" * len(headers)]
    lines += ["| " + " | ".join(str(cell) for cell in row) + " |" for row in rows]
    return "\n".join(lines)


def machine_markdown(machine: dict[str, str]) -> str:
    """Format describe_machine()'s output as a markdown bullet list."""
    return "\n".join(f"- {key}: {value}" for key, value in machine.items())
