"""GET /: the dashboard — the running cycle, experiments, data sets, trials, holdout looks.

The page is static (HTML, CSS, JS modules and the vendored uPlot under ``/static``); its scripts
call the API with the token the user types in (kept in the browser's localStorage), so serving
it needs no token and reveals no data.
"""

from __future__ import annotations

from importlib.resources import files
from pathlib import Path

from fastapi import APIRouter
from fastapi.responses import HTMLResponse, Response
from fastapi.staticfiles import StaticFiles

from ktrdr.api.cross_site import page_headers

router = APIRouter(tags=["page"])
STATIC = files("ktrdr.api") / "static"
STATIC_PATH = "/static"


@router.get("/", response_class=HTMLResponse, include_in_schema=False)
def page() -> HTMLResponse:
    """The ktrdr dashboard."""
    return HTMLResponse((STATIC / "index.html").read_text(encoding="utf-8"), headers=page_headers())


@router.get("/favicon.ico", include_in_schema=False)
def favicon() -> Response:
    """The page's icon where browsers look for it unasked (e.g. on an opened report)."""
    icon = (STATIC / "favicon.svg").read_bytes()
    return Response(icon, media_type="image/svg+xml", headers={"Cache-Control": "max-age=86400"})


def static_files() -> StaticFiles:
    """The page's static files, served from the installed package."""
    return StaticFiles(directory=Path(str(STATIC)))
