"""``ktrdr serve``: run the API with uvicorn."""

from __future__ import annotations

import ipaddress
from typing import Annotated

import typer

from ktrdr.cli.client import CliState
from ktrdr.errors import KtrdrError
from ktrdr.home_lock import DatabaseLock, HomeLock
from ktrdr.store_check import check_sqlite_store

MIN_TOKEN_LENGTH = 24


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
    if settings.api_token and len(settings.api_token) < MIN_TOKEN_LENGTH:
        typer.echo(
            f"error: KTRDR_API_TOKEN is {len(settings.api_token)} characters; use at least "
            f"{MIN_TOKEN_LENGTH} (e.g. python -c 'import secrets; print(secrets.token_urlsafe())')",
            err=True,
        )
        raise typer.Exit(1)
    try:
        # Held until the process exits: taken before start-up recovery touches any operation.
        lock = HomeLock(settings.home).acquire(host=host, port=port)
        database_lock = DatabaseLock(settings.resolved_database_url)
        database_lock.acquire(host=host, port=port)
        check_sqlite_store(settings.resolved_database_url)
    except KtrdrError as exc:
        typer.echo(f"error: {exc.message}", err=True)
        raise typer.Exit(1) from None
    import uvicorn

    from ktrdr.api import create_app
    from ktrdr.logging_setup import configure_logging

    configure_logging(settings.log_level, settings.log_format)
    served = settings.model_copy(update={"api_host": host, "api_port": port})
    try:
        uvicorn.run(create_app(served), host=host, port=port, log_config=None)
    finally:
        database_lock.release()
        lock.release()


def is_loopback(host: str) -> bool:
    """True for 'localhost', 127.0.0.0/8 and ::1: interfaces other machines cannot reach."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False
