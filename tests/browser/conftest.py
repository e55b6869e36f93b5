"""Browser tests: Playwright drives Debian's Chromium against a real `ktrdr serve` process.

Chromium is never downloaded: the tests launch the system one (`chromium` on PATH, or
KTRDR_CHROMIUM). Without it they skip, unless KTRDR_REQUIRE_BROWSER is set (CI), when they fail.
Each test leaves a full-page screenshot in tests/browser/screenshots/ (ignored by git) and fails
on any console error or uncaught exception of the page (or of a tab it opened).
"""

from __future__ import annotations

import os
import re
import secrets
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, ConsoleMessage, Page, sync_playwright
from support.cycles import finished, trigger
from support.server import ServerProcess

SCREENSHOTS = Path(__file__).resolve().parent / "screenshots"
VIEWPORT = {"width": 1280, "height": 900}
SEEDED_CYCLES = 3
pytestmark = pytest.mark.browser


def chromium_path() -> str:
    """The system Chromium; skip (or fail under KTRDR_REQUIRE_BROWSER) when there is none."""
    path = os.environ.get("KTRDR_CHROMIUM") or shutil.which("chromium")
    if path and Path(path).exists():
        return path
    message = "no Chromium: install Debian's `chromium` package (or set KTRDR_CHROMIUM)"
    if os.environ.get("KTRDR_REQUIRE_BROWSER"):
        pytest.fail(f"{message}; KTRDR_REQUIRE_BROWSER is set")
    pytest.skip(message)


# Module scope: Playwright's sync API keeps an asyncio loop running in the main thread while
# it is open, and later tests that call asyncio.run() (the LLM jobs) must not see it.
@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    """One headless Chromium per test module."""
    executable = chromium_path()
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=executable, headless=True)
        yield launched
        launched.close()


class Dashboard:
    """A real server with a token, finished cycles and one holdout look, for a browser."""

    def __init__(
        self, server: ServerProcess, token: str, seeded: list[str], holdout_model: str
    ) -> None:
        self.server = server
        self.token = token
        self.seeded = seeded
        self.holdout_model = holdout_model


@pytest.fixture(scope="session")
def dashboard(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Dashboard]:
    """`ktrdr serve` with an API token and a few finished research cycles (lenient gates)."""
    chromium_path()  # skip before starting a server for nothing
    home = tmp_path_factory.mktemp("dashboard_home")
    token = secrets.token_urlsafe(32)
    server = ServerProcess(home, KTRDR_API_TOKEN=token, KTRDR_AGENT_POLL_INTERVAL="0.5")
    server.client.headers["Authorization"] = f"Bearer {token}"
    server.start()
    try:
        seeded = []
        for seed in range(SEEDED_CYCLES):
            operation_id = trigger(server, seed=seed)
            finished(server, operation_id)
            seeded.append(operation_id)
        yield Dashboard(server, token, seeded, _look_at_holdout(server, seeded[0]))
    finally:
        server.stop()


def _look_at_holdout(server: ServerProcess, cycle_id: str) -> str:
    """Evaluate the cycle's strategy on its sealed holdout (one counted look); the strategy."""
    strategy = server.get(f"/experiments/{cycle_id}")["data"]["strategy_name"]
    response = server.post("/holdout/evaluate", {"model": strategy})
    assert response.status_code == 202, response.text
    finished(server, response.json()["operation_id"])
    return strategy


class PageErrors:
    """Console errors and uncaught exceptions of every page a test opens."""

    def __init__(self) -> None:
        self.messages: list[str] = []

    def watch(self, page: Page) -> Page:
        """Collect ``page``'s errors from now on; returns it."""
        page.on("console", self._console)
        page.on("pageerror", lambda error: self.messages.append(f"uncaught: {error}"))
        return page

    def _console(self, message: ConsoleMessage) -> None:
        if message.type == "error":
            self.messages.append(f"console: {message.text} ({message.location.get('url')})")


@pytest.fixture
def page_errors() -> PageErrors:
    """The errors of the pages this test opens (checked after the test)."""
    return PageErrors()


@pytest.fixture
def page(
    browser: Browser, dashboard: Dashboard, page_errors: PageErrors, request: pytest.FixtureRequest
) -> Iterator[Page]:
    """The dashboard at 1280 px with the token already stored; no console error allowed."""
    context = browser.new_context(viewport=VIEWPORT)
    # The token the user typed in earlier, as the page keeps it.
    context.add_init_script(
        f"if (location.origin === {dashboard.server.url!r}) "
        f"localStorage.setItem('ktrdr-token', {dashboard.token!r})"
    )
    context.on("page", page_errors.watch)
    opened = context.new_page()
    opened.goto(dashboard.server.url + "/")
    yield opened
    SCREENSHOTS.mkdir(exist_ok=True)
    name = re.sub(r"[^A-Za-z0-9_-]", "_", request.node.name)
    opened.screenshot(path=SCREENSHOTS / f"{name}.png", full_page=True)
    context.close()
    assert page_errors.messages == [], "the page logged errors:\n" + "\n".join(page_errors.messages)
