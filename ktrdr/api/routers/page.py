"""GET /: the web page — research status, a trigger and a cancel button, recent operations.

The page is static; its script calls the API with the token the user types in (kept in the
browser's localStorage), so serving it needs no token and reveals no data.
"""

from __future__ import annotations

from importlib.resources import files

from fastapi import APIRouter
from fastapi.responses import HTMLResponse

from ktrdr.api.cross_site import page_headers

router = APIRouter(tags=["page"])
PAGE = files("ktrdr.api") / "static" / "index.html"


@router.get("/", response_class=HTMLResponse, include_in_schema=False)
def page() -> HTMLResponse:
    """The ktrdr web page."""
    return HTMLResponse(PAGE.read_text(encoding="utf-8"), headers=page_headers())
