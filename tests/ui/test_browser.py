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


def test_overview_evidence_card_series_chart_and_csv_download_in_chromium(built_sqlite, playwright, tmp_path):
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

            # The milestone table: every forecast series, its 2027 and 2030 chances.
            page.get_by_role("heading", name="Where each technology is heading").wait_for()
            page.locator(".st-key-milestones").scroll_into_view_if_needed()
            page.locator(".st-key-milestones [role='gridcell']").first.wait_for(state="attached")
            milestones = page.locator(".st-key-milestones [role='gridcell']").all_inner_texts()
            frames = export.export_frames(db.make_engine(built_sqlite))
            crossings = frames["crossings.csv"]
            ahead = crossings[~crossings["status"].isin(["crossed", "above_since_first"])
                              & crossings["threshold"].isin([0.5, 0.75, 0.9])].iloc[0]
            assert any(cell.startswith(f"{ahead.probability_by_2027:.0%} by 2027 · ") for cell in milestones)

            page.locator(".st-key-targets-table").scroll_into_view_if_needed()
            # Open an evidence card from the table: show the semiconductor targets (each measured
            # by a forecast chips series), select the first row, follow its details' link to the card.
            page.locator('[data-testid="stMultiSelect"]').filter(has_text="Sector").click()
            page.get_by_role("option", name="Semiconductor industry", exact=True).click()
            wait_idle(page)
            page.keyboard.press("Escape")
            wait_idle(page)  # the rerun that applies the filter: on loaded cores 500 ms was not enough
            grid = page.locator('[data-testid="stDataFrame"]').first
            grid.wait_for()
            page.wait_for_timeout(500)
            box = grid.bounding_box()
            page.mouse.click(box["x"] + 16, box["y"] + ROW_HEIGHT * 1.5)  # the first row's checkbox
            wait_idle(page)
            details = page.locator(".st-key-target-details")
            details.wait_for()
            targets = frames["targets.csv"]
            first = targets[targets["sector"] == "semiconductors"]
            assert any(title in details.inner_text() for title in first["policy_title"])
            page.screenshot(path=tmp_path / "overview-details.png", full_page=True)
            details.get_by_role("link", name=re.compile("Open the evidence card")).click()
            page.wait_for_url("**/target?target=*", timeout=60_000)
            wait_idle(page)
            target = page.evaluate("new URLSearchParams(window.location.search).get('target')")
            card = targets.set_index("target_id").loc[target]
            assert target in set(first["target_id"])
            measure = page.locator(".st-key-card-measure")
            assert f"Measure: {card['measure']}" in measure.inner_text()
            assert card["measure_reason"] in measure.inner_text()
            page.locator(".st-key-card-observations").scroll_into_view_if_needed()
            page.locator(".st-key-card-observations [role='gridcell']").first.wait_for(state="attached")
            cells = page.locator(".st-key-card-observations [role='gridcell']").all_inner_texts()
            rows = frames["evidence.csv"]
            quotes = set(rows[rows["target_id"] == target]["quote"].dropna())
            assert quotes and quotes & set(cells), "the card shows the source's own words"
            page.screenshot(path=tmp_path / "card.png", full_page=True)

            # From the card to its measuring series: the chart is drawn.
            measure.get_by_role("link", name=re.compile("Measuring series")).click()
            page.wait_for_url("**/series?series=*", timeout=60_000)
            wait_idle(page)
            page.wait_for_selector(PLOTLY_RENDERED, timeout=60_000)
            chart = page.locator('[data-testid="stPlotlyChart"]').first
            assert chart.locator(".scatterlayer .trace").count() >= 1
            assert "observed" in chart.inner_text()
            assert page.locator('[data-testid="stException"]').count() == 0
            key = page.evaluate("new URLSearchParams(window.location.search).get('series')")
            assert key == card["series"]
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
            assert len(rows) - 1 == (frames["forecasts.csv"][SERIES] == key).sum()
            assert {r[FORECASTS_EXPORT_COLUMNS.index(SERIES)] for r in rows[1:]} <= {key}
            assert not errors, errors
        finally:
            browser.close()
    assert Path(tmp_path / "overview.png").stat().st_size > 10_000
    assert Path(tmp_path / "series.png").stat().st_size > 10_000
    assert Path(tmp_path / "card.png").stat().st_size > 10_000
