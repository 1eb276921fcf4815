"""One real browser test: `domshare ui` on a free port, driven by Debian's headless Chromium
through Playwright (the system browser; nothing is downloaded)."""
from __future__ import annotations

import csv
import io
import os
import re
from pathlib import Path

import pytest

from forecast.frames import FORECASTS_EXPORT_COLUMNS, SERIES
from jobs import export
from jobs.store import db
from ui.screenshots import PLOTLY_RENDERED, chromium_executable, launch_chromium, open_page, serve, wait_idle

pytestmark = pytest.mark.browser
ROW_HEIGHT = 35  # ui/views/overview.py pins the table's row height


@pytest.fixture(scope="module")
def playwright():
    sync_api = pytest.importorskip("playwright.sync_api")
    if not os.path.exists(chromium_executable()):
        pytest.skip(f"no Chromium at {chromium_executable()} (install Debian's chromium or set DOMSHARE_CHROMIUM)")
    with sync_api.sync_playwright() as p:
        yield p


def test_overview_series_chart_and_csv_download_in_chromium(built_sqlite, playwright, tmp_path):
    with serve(built_sqlite, log=tmp_path / "ui.log") as base:
        browser = launch_chromium(playwright)
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 1100}, accept_downloads=True)
            errors = []
            page.on("pageerror", lambda exc: errors.append(str(exc)))

            # The overview's own address opens the overview, not a "Page not found" dialog.
            open_page(page, f"{base}/overview")
            page.get_by_role("heading", name="Is China meeting its localisation targets?").wait_for()
            assert page.get_by_text("Page not found").count() == 0
            open_page(page, f"{base}/")
            page.get_by_role("heading", name="Is China meeting its localisation targets?").wait_for()
            page.get_by_text("Most urgent first").wait_for()
            assert page.locator('[data-testid="stException"]').count() == 0
            page.screenshot(path=tmp_path / "overview.png")

            # Open a series from the table: show the semiconductor targets (each measured by a
            # forecast chips series), select the first row, land on its series page.
            page.locator('[data-testid="stMultiSelect"]').filter(has_text="Sector").click()
            page.get_by_role("option", name="Semiconductor industry", exact=True).click()
            wait_idle(page)
            page.keyboard.press("Escape")
            grid = page.locator('[data-testid="stDataFrame"]').first
            grid.wait_for()
            page.wait_for_timeout(500)
            box = grid.bounding_box()
            page.mouse.click(box["x"] + 16, box["y"] + ROW_HEIGHT * 1.5)  # the first row's checkbox
            wait_idle(page)
            # The row's details: the whole policy title, then a link to the series chart.
            details = page.locator(".st-key-target-details")
            details.wait_for()
            shown = export.export_frames(db.make_engine(built_sqlite))["targets.csv"]
            first = shown[shown["sector"] == "semiconductors"]
            assert any(title in details.inner_text() for title in first["policy_title"])
            page.screenshot(path=tmp_path / "overview-details.png", full_page=True)
            details.get_by_role("link", name=re.compile("Open the series chart")).click()
            page.wait_for_url("**/series?series=*", timeout=60_000)
            wait_idle(page)
            page.wait_for_selector(PLOTLY_RENDERED, timeout=60_000)
            chart = page.locator('[data-testid="stPlotlyChart"]').first
            assert chart.locator(".scatterlayer .trace").count() >= 4  # bands, median, observed
            assert "forecast median" in chart.inner_text()
            assert page.locator('[data-testid="stException"]').count() == 0
            key = page.evaluate("new URLSearchParams(window.location.search).get('series')")
            assert key in set(first["series"])
            page.screenshot(path=tmp_path / "series.png", full_page=True)

            button = page.locator('[data-testid="stDownloadButton"]').filter(has_text="forecasts.csv")
            button.scroll_into_view_if_needed()
            with page.expect_download() as info:
                button.click()
            download = info.value
            assert download.suggested_filename == f"forecasts_{key}.csv"
            path = tmp_path / download.suggested_filename
            download.save_as(path)
            rows = list(csv.reader(io.StringIO(path.read_text(encoding="utf-8"))))
            assert rows[0] == FORECASTS_EXPORT_COLUMNS
            assert len(rows) > 1 and {r[FORECASTS_EXPORT_COLUMNS.index(SERIES)] for r in rows[1:]} == {key}
            assert not errors, errors
        finally:
            browser.close()
    assert Path(tmp_path / "overview.png").stat().st_size > 10_000
    assert Path(tmp_path / "series.png").stat().st_size > 10_000
