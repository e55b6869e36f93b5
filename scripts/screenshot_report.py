"""Screenshot an HTML report as a laptop shows it: ``python scripts/screenshot_report.py IN OUT``.

Uses Playwright with the system's Chromium (``/usr/bin/chromium``, Debian's ``chromium``
package; set ``KTRDR_CHROMIUM`` for another path); it never downloads a browser. Exits non-zero
when the page logs an error or asks the network for anything.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from playwright.sync_api import sync_playwright

CHROMIUM = os.environ.get("KTRDR_CHROMIUM", "/usr/bin/chromium")


def main() -> int:
    """Render ``IN`` at 1280 px wide and save the whole page as the PNG ``OUT``."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("page", type=Path)
    parser.add_argument("output", type=Path)
    parser.add_argument("--width", type=int, default=1280)
    args = parser.parse_args()
    problems: list[str] = []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM)
        page = browser.new_page(viewport={"width": args.width, "height": 900})
        page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
        page.on("pageerror", lambda error: problems.append(str(error)))
        page.on(
            "request",
            lambda r: problems.append(f"network: {r.url}") if r.url.startswith("http") else None,
        )
        page.goto(args.page.resolve().as_uri())
        page.wait_for_selector(".main-svg")
        page.screenshot(path=str(args.output), full_page=True)
        browser.close()
    for problem in problems:
        print(f"error: {problem}", file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
