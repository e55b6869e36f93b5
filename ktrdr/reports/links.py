"""Where an operation's report is served: the one place its path and links are spelled."""

from __future__ import annotations

from urllib.parse import quote

API_PREFIX = "/api/v1"


def report_path(operation_id: str) -> str:
    """The report's API path, relative to ``/api/v1`` (what the API clients ask for)."""
    return f"/operations/{quote(operation_id, safe='')}/report"


def report_url(base_url: str, operation_id: str) -> str:
    """The report's absolute URL on the server at ``base_url`` (e.g. ``http://host:8000``)."""
    return f"{base_url.rstrip('/')}{API_PREFIX}{report_path(operation_id)}"


def sibling_report_link(operation_id: str) -> str:
    """A link from one served report to another's: relative, so it resolves from the page's
    own URL ``/api/v1/operations/<id>/report`` behind any prefix or proxy."""
    return f"../{quote(operation_id, safe='')}/report"
