"""``ktrdr serve``: loopback by default, refuses open interfaces without a token."""

from __future__ import annotations

import pytest
import uvicorn
from typer.testing import CliRunner

from ktrdr.cli.main import app
from ktrdr.cli.serve import is_loopback


@pytest.fixture
def served(monkeypatch) -> list[dict]:
    calls: list[dict] = []
    monkeypatch.setattr(uvicorn, "run", lambda app, **kwargs: calls.append(kwargs))
    monkeypatch.setattr("ktrdr.logging_setup.configure_logging", lambda *args: None)
    return calls


def _env(tmp_path, **extra) -> dict[str, str | None]:
    return {"KTRDR_HOME": str(tmp_path), "KTRDR_API_TOKEN": None, "KTRDR_API_HOST": None, **extra}


@pytest.mark.parametrize(
    ("host", "loopback"),
    [
        ("127.0.0.1", True),
        ("localhost", True),
        ("::1", True),
        ("127.0.0.2", True),
        ("0.0.0.0", False),
        ("192.168.1.5", False),
        ("example.com", False),
    ],
)
def test_is_loopback(host, loopback):
    assert is_loopback(host) is loopback


def test_a_public_host_without_a_token_is_refused_in_one_line(tmp_path, served):
    result = CliRunner().invoke(app, ["serve", "--host", "0.0.0.0"], env=_env(tmp_path))

    assert result.exit_code == 1
    assert len(result.stderr.strip().splitlines()) == 1
    assert "KTRDR_API_TOKEN" in result.stderr
    assert served == []


@pytest.mark.parametrize(
    ("args", "extra_env"),
    [(["--insecure"], {}), ([], {"KTRDR_API_TOKEN": "t0ken-long-enough-for-the-check"})],
    ids=["insecure", "token"],
)
def test_a_public_host_is_served_with_insecure_or_a_token(tmp_path, served, args, extra_env):
    result = CliRunner().invoke(
        app,
        ["serve", "--host", "0.0.0.0", "--port", "9001", *args],
        env=_env(tmp_path, **extra_env),
    )

    assert result.exit_code == 0, result.output
    assert served[0]["host"] == "0.0.0.0"
    assert served[0]["port"] == 9001


def test_serve_defaults_to_loopback_port_8000(tmp_path, served):
    result = CliRunner().invoke(app, ["serve"], env=_env(tmp_path, KTRDR_API_PORT=None))

    assert result.exit_code == 0, result.output
    assert (served[0]["host"], served[0]["port"]) == ("127.0.0.1", 8000)
