"""Run the CLI in-process against a live server."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from click.testing import Result
from typer.testing import CliRunner

from ktrdr.cli.main import app


@pytest.fixture
def cli(live_server) -> Callable[..., Result]:
    """``cli("operations", "list")`` runs ``ktrdr --url <live server> operations list``."""

    def run(*args: str, env: dict[str, str | None] | None = None) -> Result:
        full_env = {"KTRDR_API_TOKEN": None, **(env or {})}
        return CliRunner().invoke(app, ["--url", live_server.base_url, *args], env=full_env)

    return run
