"""CliState and ``api_client``: the root command's ApiClient, its errors printed as one line."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import typer

from ktrdr.client.http import ApiClient, ApiError
from ktrdr.settings import Settings

__all__ = ["ApiClient", "ApiError", "CliState", "api_client"]


@dataclass(frozen=True)
class CliState:
    """What the root command hands to every sub-command: where the API is and how to auth."""

    url: str
    token: str | None
    settings: Settings


@contextmanager
def api_client(ctx: typer.Context) -> Iterator[ApiClient]:
    """An ApiClient for the root command's ``--url``; an ApiError prints its line and exits 1."""
    state: CliState = ctx.obj
    with ApiClient(state.url, token=state.token) as client:
        try:
            yield client
        except ApiError as exc:
            typer.echo(str(exc), err=True)
            raise typer.Exit(1) from None
