"""The forecast history in a real browser: `domshare ui` on a free port, headless Chromium,
a store refreshed after each of three data arrivals. The series page's history chart draws
one point per run; the overview's table carries the change columns."""
from __future__ import annotations

import os

import pytest

from run_history import refresh_after_each_arrival
from ui.history_panels import CHANGE_PREVIOUS
from ui.screenshots import PLOTLY_RENDERED, chromium_executable, launch_chromium, open_page, serve, wait_idle

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def playwright():
    sync_api = pytest.importorskip("playwright.sync_api")
    if not os.path.exists(chromium_executable()):
        pytest.skip(f"no Chromium at {chromium_executable()} (install Debian's chromium or set DOMSHARE_CHROMIUM)")
    with sync_api.sync_playwright() as p:
        yield p


def test_history_chart_has_a_point_per_run_and_the_overview_a_change_column(playwright, tmp_path):
    url = f"sqlite:///{tmp_path / 'store.db'}"
    runs = refresh_after_each_arrival(url)
    with serve(url, log=tmp_path / "ui.log") as base:
        browser = launch_chromium(playwright)
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 1100})
            errors = []
            page.on("pageerror", lambda exc: errors.append(str(exc)))
            open_page(page, f"{base}/series?series=rising")
            page.wait_for_selector(PLOTLY_RENDERED, timeout=60_000)
            chart = page.locator('[data-testid="stPlotlyChart"]').filter(has_text="probability of meeting the target")
            chart.scroll_into_view_if_needed()
            wait_idle(page)
            probability = chart.locator(".scatterlayer .trace").first  # the P(met) trace of the top panel
            assert probability.locator(".points path").count() == len(runs) == 3
            assert all(f"#{r}" in chart.inner_text() for r in runs)
            page.screenshot(path=tmp_path / "series-history.png", full_page=True)

            open_page(page, f"{base}/")
            page.get_by_text("Most urgent first").wait_for()
            page.get_by_text("As of").first.wait_for()
            grid = page.locator('[data-testid="stDataFrame"]').first
            grid.wait_for()
            # The grid draws its header cells after the frame appears: wait for them, not a fixed time.
            grid.locator('[role="columnheader"]', has_text=CHANGE_PREVIOUS).first.wait_for(state="attached", timeout=30_000)
            headers = grid.locator('[role="columnheader"]').all_inner_texts()
            assert CHANGE_PREVIOUS in headers, headers
            page.screenshot(path=tmp_path / "overview-changes.png", full_page=True)
            assert page.locator('[data-testid="stException"]').count() == 0
            assert not errors, errors
        finally:
            browser.close()
    assert (tmp_path / "series-history.png").stat().st_size > 10_000
