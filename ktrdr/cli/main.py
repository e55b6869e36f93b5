"""The ``ktrdr`` command: global ``--url``, one sub-app per area, and ``serve``."""

from __future__ import annotations

from typing import Annotated

import pydantic
import typer

from ktrdr.cli import agent, data, holdout, operations, strategies
from ktrdr.cli.backtest import backtest
from ktrdr.cli.client import CliState
from ktrdr.cli.report import report
from ktrdr.cli.serve import serve
from ktrdr.cli.train import train
from ktrdr.settings import Settings

app = typer.Typer(
    name="ktrdr",
    help="Autonomous research of trading strategies: drive the ktrdr API.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
app.add_typer(operations.app, name="operations")
app.add_typer(data.app, name="data")
app.add_typer(strategies.app, name="strategies")
app.add_typer(agent.app, name="agent")
app.add_typer(holdout.app, name="holdout")
app.command("serve")(serve)
app.command("train")(train)
app.command("backtest")(backtest)
app.command("report")(report)


@app.callback()
def root(
    ctx: typer.Context,
    url: Annotated[
        str | None,
        typer.Option(
            "--url",
            envvar="KTRDR_API_URL",
            help="Base URL of the ktrdr API (default http://127.0.0.1:8000).",
        ),
    ] = None,
) -> None:
    """Read the settings once and remember where the API is."""
    try:
        settings = Settings()
    except pydantic.ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(map(str, e['loc'])).upper()}: {e['msg']}" for e in exc.errors()
        )
        typer.echo(f"error: invalid KTRDR_* setting: {problems}", err=True)
        raise typer.Exit(1) from None
    ctx.obj = CliState(url=url or settings.api_url, token=settings.api_token, settings=settings)


def main() -> None:
    """Entry point of the ``ktrdr`` console script."""
    app()


if __name__ == "__main__":
    main()
