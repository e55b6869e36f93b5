"""Dependencies the routers declare: the app's ``Services``."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Query, Request

from ktrdr.api.services import Services


def get_services(request: Request) -> Services:
    """The services of the app handling ``request`` (set up by the app's lifespan)."""
    return request.app.state.services


ServicesDep = Annotated[Services, Depends(get_services)]
MAX_OFFSET = 2**31 - 1  # beyond every store; larger ints overflow SQLite's 64-bit integers
OffsetQuery = Annotated[int, Query(ge=0, le=MAX_OFFSET)]
