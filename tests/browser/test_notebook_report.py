"""A notebook's inline report: the sandboxed srcdoc iframe of ``Report._repr_html_`` in Chromium."""

from __future__ import annotations

import pytest
from playwright.sync_api import Browser, expect
from support.report_frames import history_frame, training_operation

from ktrdr.client.results import Report
from ktrdr.reports import training_page

pytestmark = pytest.mark.browser


def test_plotly_draws_inside_the_sandboxed_report_iframe(browser: Browser) -> None:
    page_html = training_page(training_operation(), {"history": history_frame()})
    shown = Report("op_training_1", page_html)._repr_html_()
    page = browser.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    try:
        page.set_content(f"<html><body>{shown}</body></html>")
        frame = page.frame_locator("iframe")
        expect(frame.locator(".js-plotly-plot .main-svg").first).to_be_visible(timeout=30_000)
        assert page.locator("iframe").get_attribute("sandbox") == "allow-scripts"
    finally:
        page.close()
    assert errors == []
