"""``ktrdr serve``: run the API with uvicorn."""

from __future__ import annotations

import ipaddress
from typing import Annotated

import typer

from ktrdr.cli.client import CliState


def serve(
    ctx: typer.Context,
    host: Annotated[
        str | None, typer.Option(help="Interface to bind (default KTRDR_API_HOST or 127.0.0.1).")
    ] = None,
    port: Annotated[
        int | None, typer.Option(help="Port to listen on (default KTRDR_API_PORT or 8000).")
    ] = None,
    insecure: Annotated[
        bool,
        typer.Option("--insecure", help="Allow a non-loopback host without KTRDR_API_TOKEN."),
    ] = False,
) -> None:
    """Run the ktrdr API (default 127.0.0.1:8000)."""
    state: CliState = ctx.obj
    settings = state.settings
    host = host or settings.api_host
    port = port or settings.api_port
    if not is_loopback(host) and not settings.api_token and not insecure:
        typer.echo(
            f"error: refusing to serve on {host} without KTRDR_API_TOKEN: "
            "set a token, or pass --insecure to accept unauthenticated requests",
            err=True,
        )
        raise typer.Exit(1)
    import uvicorn

    from ktrdr.api import create_app
    from ktrdr.logging_setup import configure_logging

    configure_logging(settings.log_level, settings.log_format)
    uvicorn.run(create_app(settings), host=host, port=port, log_config=None)


def is_loopback(host: str) -> bool:
    """True for 'localhost', 127.0.0.0/8 and ::1: interfaces other machines cannot reach."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False
