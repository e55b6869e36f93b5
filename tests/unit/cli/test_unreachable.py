"""A CLI command when no server listens: one line on stderr, exit 1."""

from __future__ import annotations

import socket

import pytest
from typer.testing import CliRunner

from ktrdr.cli.main import app


@pytest.fixture
def dead_url() -> str:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}"


@pytest.mark.parametrize(
    "command",
    [["operations", "list"], ["operations", "status", "x"], ["operations", "cancel", "x"]],
)
def test_an_unreachable_server_is_one_line_and_exit_1(dead_url, command):
    result = CliRunner().invoke(app, ["--url", dead_url, *command], env={"KTRDR_API_TOKEN": None})

    assert result.exit_code == 1
    assert result.stdout == ""
    assert result.stderr == (
        f"cannot reach the ktrdr API at {dead_url} — start it with `ktrdr serve`\n"
    )


def test_the_url_comes_from_ktrdr_api_url(dead_url):
    result = CliRunner().invoke(app, ["operations", "list"], env={"KTRDR_API_URL": dead_url})

    assert result.exit_code == 1
    assert dead_url in result.stderr


def test_an_invalid_setting_is_one_line(tmp_path):
    result = CliRunner().invoke(app, ["operations", "list"], env={"KTRDR_WORKERS": "many"})

    assert result.exit_code == 1
    assert result.stderr.startswith("error: invalid KTRDR_* setting: WORKERS")
    assert len(result.stderr.strip().splitlines()) == 1
