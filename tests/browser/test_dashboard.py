"""The dashboard in Chromium against a real server: the cycle, buttons, experiments, charts."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect
from support.cycles import TERMINAL
from support.eventually import eventually

pytestmark = pytest.mark.browser

CYCLE_TIMEOUT_MS = 120_000
PERCENT_WATCHER = """
window.__percents = [];
window.__phases = [];
new MutationObserver(() => {
  const percent = document.getElementById('cycle-percent').textContent;
  const active = document.querySelector('#timeline .phase.active');
  if (window.__percents.at(-1) !== percent) window.__percents.push(percent);
  const phase = active && active.dataset.phase;
  if (phase && window.__phases.at(-1) !== phase) window.__phases.push(phase);
}).observe(document.getElementById('cycle-section'),
           {subtree: true, childList: true, characterData: true});
"""


def _wait_idle(dashboard) -> None:
    eventually(
        lambda: dashboard.server.get("/agent/status")["status"] == "idle",
        "no research cycle is active",
        timeout=120,
    )


def _numbers(page: Page, column: int) -> list[float]:
    texts = page.locator(f"#experiments tbody tr td:nth-child({column})").all_inner_texts()
    return [float(text) for text in texts if text.strip() not in ("—", "")]


def _expect_chart(page: Page, selector: str) -> None:
    """A uPlot canvas is drawn in ``selector``, titled, with both axes labelled."""
    expect(page.locator(f"{selector} .uplot canvas").first).to_be_visible()
    expect(page.locator(f"{selector} .u-title")).not_to_be_empty()
    described = page.locator(selector).get_attribute("aria-label") or ""
    assert re.search(r"\(x: \S.*; y: \S.*\)$", described), f"{selector}: {described!r}"


def test_start_button_runs_a_cycle_whose_progress_the_page_follows(page: Page, dashboard):
    _wait_idle(dashboard)
    expect(page.locator("#agent-status")).to_contain_text("Last cycle")
    page.evaluate(PERCENT_WATCHER)

    page.click("#trigger")

    expect(page.locator("#agent-status")).to_contain_text("Running", timeout=30_000)
    running = page.locator("#timeline .phase.active")
    expect(running).to_have_count(1)
    expect(page.locator("#agent-status")).to_contain_text("Last cycle", timeout=CYCLE_TIMEOUT_MS)
    percents = page.evaluate("window.__percents")
    phases = page.evaluate("window.__phases")
    assert len(set(percents)) >= 2, f"progress never moved: {percents}"
    assert phases and phases[0] in ("designing", "training"), phases
    cycle_id = dashboard.server.get("/agent/status")["last_cycle"]["operation_id"]
    outcome = dashboard.server.operation(cycle_id)["status"]
    assert outcome in TERMINAL
    expect(page.locator("#agent-status")).to_contain_text(outcome)
    _expect_chart(page, "#progress-chart")


def test_cancel_button_cancels_the_running_cycle(page: Page, dashboard):
    _wait_idle(dashboard)
    cancel = page.locator("#cancel")
    expect(cancel).to_be_disabled()

    page.click("#trigger")
    expect(cancel).to_be_enabled(timeout=30_000)
    cycle_id = dashboard.server.get("/agent/status")["operation_id"]
    cancel.click()

    expect(page.locator("#agent-status")).to_contain_text("cancelled", timeout=30_000)
    assert dashboard.server.operation(cycle_id)["status"] == "cancelled"
    expect(page.locator(f'#operations tr[data-id="{cycle_id}"] td.status')).to_have_text(
        "cancelled"
    )
    expect(page.locator(f'#operations tr[data-id="{cycle_id}"] a.report-link')).to_have_count(1)
    linked = page.locator("#operations tr:has(a.report-link)").evaluate_all(
        "rows => rows.map(r => [r.cells[1].textContent, r.cells[2].textContent])"
    )
    assert all(status == "completed" for kind, status in linked if kind != "agent_research")
    for child in dashboard.server.get("/operations", parent=cycle_id)["data"]:
        if child["status"] != "completed":
            row = page.locator(f'#operations tr[data-id="{child["operation_id"]}"]')
            expect(row.locator("a.report-link")).to_have_count(0)
    expect(cancel).to_be_disabled()


def test_experiments_sort_and_filter_by_verdict_and_data_set(page: Page, dashboard):
    rows = page.locator("#experiments tbody tr[data-id]")
    expect(rows.first).to_be_visible()
    sharpe = page.locator('#experiments-head th[data-key="sharpe_ratio"]')
    column = 1 + page.locator("#experiments-head th").all_inner_texts().index(sharpe.inner_text())

    sharpe.click()
    expect(sharpe).to_have_attribute("aria-sort", "descending")
    descending = _numbers(page, column)
    assert len(descending) >= 2 and descending == sorted(descending, reverse=True)
    sharpe.click()
    expect(sharpe).to_have_attribute("aria-sort", "ascending")
    assert _numbers(page, column) == sorted(descending)

    listed = dashboard.server.get("/experiments", limit=1000)["data"]
    verdict = next(row["verdict"] for row in listed if row["verdict"])
    expected = sum(1 for row in listed if row["verdict"] == verdict)
    page.select_option("#filter-verdict", verdict)
    expect(rows).to_have_count(expected)
    assert set(rows.evaluate_all("rows => rows.map(r => r.dataset.verdict)")) == {verdict}

    page.select_option("#filter-verdict", "")
    filtered = re.compile(r"/experiments\?.*data_set=EURUSD\+1h")
    with page.expect_response(lambda response: bool(filtered.search(response.url))) as answer:
        page.select_option("#filter-dataset", "EURUSD 1h")
    assert answer.value.status == 200
    expect(rows).to_have_count(sum(1 for row in listed if row["data_set"] == "EURUSD 1h"))
    _expect_chart(page, "#experiments-chart")
    _expect_chart(page, "#trials-chart")
    expect(page.locator('#datasets tr[data-set="EURUSD 1h"]')).to_be_visible()
    look = page.locator("#holdout tbody tr", has_text=dashboard.holdout_model)
    expect(look).to_have_count(1)
    expect(look.locator("td").nth(3)).to_have_text("1")  # the look number
    trials = dashboard.server.get("/trials")["total_count"]
    expect(page.locator("#trials tbody tr")).to_have_count(min(trials, 25))


def test_two_ticked_experiments_are_compared_side_by_side(page: Page, dashboard):
    first, second = (
        page.locator(f'#experiments tr[data-id="{cycle}"] input.pick')
        for cycle in dashboard.seeded[:2]
    )
    compare = page.locator("#compare-button")
    first.check()
    expect(compare).to_be_disabled()
    second.check()
    expect(compare).to_be_enabled()

    compare.click()

    section = page.locator("#compare-section")
    expect(section).to_be_visible()
    names = [
        dashboard.server.get(f"/experiments/{cycle}")["data"]["strategy_name"]
        for cycle in dashboard.seeded[:2]
    ]
    header = section.locator("thead")
    for name in names:
        expect(header).to_contain_text(name)
    expect(section.locator("tbody tr")).not_to_have_count(0)
    _expect_chart(page, "#compare-chart")


def test_a_finished_cycles_report_opens_from_the_dashboard_with_its_charts(page: Page, dashboard):
    cycle = dashboard.seeded[0]
    link = page.locator(f'#experiments tr[data-id="{cycle}"] button.link')

    with page.context.expect_page() as opened:
        link.click()

    report = opened.value
    report.wait_for_load_state()
    expect(report.locator(".js-plotly-plot").first).to_be_attached(timeout=30_000)
    expect(report.locator(".js-plotly-plot .main-svg").first).to_be_visible()
    assert report.locator(".js-plotly-plot").count() >= 2
    expect(page.locator("#errors")).to_be_empty()


def test_a_wrong_token_is_shown_as_an_error_until_the_right_one_is_typed(browser, dashboard):
    # Its own context, no stored token: the 401s it provokes are the point, not console faults.
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    try:
        page.goto(dashboard.server.url + "/")
        page.fill("#token", "not-the-token")
        page.dispatch_event("#token", "change")

        errors = page.locator("#errors")
        expect(errors).to_contain_text("bearer token")
        expect(page.locator("#experiments tbody tr[data-id]")).to_have_count(0)

        page.fill("#token", dashboard.token)
        page.dispatch_event("#token", "change")

        expect(page.locator("#experiments tbody tr[data-id]").first).to_be_visible()
        expect(errors).to_be_empty()
        assert page.evaluate("localStorage.getItem('ktrdr-token')") == dashboard.token
    finally:
        context.close()
