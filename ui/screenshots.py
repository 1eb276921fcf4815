"""Serve the app and drive Debian's headless Chromium with Playwright (never a downloaded
browser). Used by the browser test and to refresh the documentation's screenshots:

    python3 -m ui.screenshots --db sqlite:///domshare.db --out docs/screenshots
    python3 -m ui.screenshots --pages overview policies runs series:KEY --full-page --width 800 --suffix=-narrow
    python3 -m ui.screenshots --pages target:P10-government-os --full-page
"""
from __future__ import annotations

import argparse
import contextlib
import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from typing import Iterator

CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]
IDLE = '[data-testid="stApp"][data-test-script-state="notRunning"]'
PLOTLY_RENDERED = '[data-testid="stPlotlyChart"] .main-svg'
# Tables draw on a canvas after their frame appears: a table still a few pixels wide is not drawn.
TABLES_DRAWN = ("[...document.querySelectorAll('[data-testid=\"stDataFrame\"]')]"
                ".every(e => e.getBoundingClientRect().width > 120)")


def chromium_executable() -> str:
    return os.environ.get("DOMSHARE_CHROMIUM") or "/usr/bin/chromium"


def launch_chromium(playwright):
    return playwright.chromium.launch(executable_path=chromium_executable(), args=CHROMIUM_ARGS)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextlib.contextmanager
def serve(db_url: str, port: int | None = None, log: Path | None = None,
          timeout: float = 60) -> Iterator[str]:
    """Run `domshare ui` on 127.0.0.1 until the block ends; yields the base URL."""
    port = port or free_port()
    out = open(log, "wb") if log else subprocess.DEVNULL
    process = subprocess.Popen(
        [sys.executable, "-m", "jobs", "ui", "--db", db_url, "--port", str(port), "--host", "127.0.0.1"],
        stdout=out, stderr=subprocess.STDOUT,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + timeout
        while True:
            if process.poll() is not None:
                raise RuntimeError(f"domshare ui exited with code {process.returncode}"
                                   + (f"; see {log}" if log else ""))
            try:
                with urllib.request.urlopen(f"{base}/_stcore/health", timeout=2) as response:
                    if response.status == 200:
                        break
            except OSError:
                pass
            if time.monotonic() > deadline:
                raise TimeoutError(f"domshare ui did not answer on {base} within {timeout:.0f} s")
            time.sleep(0.3)
        yield base
    finally:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        if log:
            out.close()


def open_page(page, url: str, timeout_ms: int = 60_000) -> None:
    """Load a page and wait until Streamlit has finished running its script."""
    page.goto(url)
    page.wait_for_selector('[data-testid="stApp"]', timeout=timeout_ms)
    wait_idle(page, timeout_ms)


def wait_idle(page, timeout_ms: int = 60_000) -> None:
    page.wait_for_timeout(300)  # let a rerun triggered by the last action start
    page.wait_for_selector(IDLE, timeout=timeout_ms)


PAGES = ("overview", "target", "series", "policies", "runs", "alerts")
QUERY = {"target": "target", "series": "series"}  # page -> its query parameter (target:ID, series:KEY)


def take(db_url: str, out_dir: Path, series: str | None = None,
         width: int = 1400, height: int = 1300, pages: list[str] | None = None,
         full_page: bool = False, suffix: str = "") -> list[Path]:
    """Screenshots of the overview and one series page (the README's pair), or of `pages`:
    names from PAGES, a series page as "series" or "series:KEY" (file series-KEY.png), an
    evidence card as "target:ID" (file target-ID.png)."""
    from playwright.sync_api import sync_playwright

    out_dir.mkdir(parents=True, exist_ok=True)
    wanted = pages or ["overview", "series" + (f":{series}" if series else "")]
    shots = []
    with serve(db_url) as base, sync_playwright() as playwright:
        browser = launch_chromium(playwright)
        try:
            page = browser.new_page(viewport={"width": width, "height": height})
            for name in wanted:
                view, _, key = name.partition(":")
                if view not in PAGES:
                    raise ValueError(f"unknown page {view!r}: choose from {', '.join(PAGES)}")
                path = "/" if view == "overview" else f"/{view}"
                open_page(page, base + path + (f"?{QUERY[view]}={key}" if key and view in QUERY else ""))
                if page.locator('[data-testid="stPlotlyChart"]').count():  # none before a run
                    page.wait_for_selector(PLOTLY_RENDERED, timeout=60_000)
                page.wait_for_function(TABLES_DRAWN, timeout=60_000)
                page.wait_for_timeout(800)  # Plotly's transition, the tables' first paint
                stem = view if not key or not pages else f"{view}-{key}"
                shots.append(out_dir / f"{stem}{suffix}.png")
                if full_page:
                    _fit_height(page, width, height)
                page.screenshot(path=shots[-1])
                page.set_viewport_size({"width": width, "height": height})
        finally:
            browser.close()
    return shots


def _fit_height(page, width: int, height: int) -> None:
    """Streamlit scrolls inside its main pane, not the document: grow the viewport to fit it."""
    needed = page.evaluate('document.querySelector(\'[data-testid="stMain"]\')?.scrollHeight || 0')
    if needed > height:
        page.set_viewport_size({"width": width, "height": int(needed) + 20})
        wait_idle(page)
        page.wait_for_function(TABLES_DRAWN, timeout=60_000)
        page.wait_for_timeout(800)  # charts and tables re-lay out to the new size


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--db", default=os.environ.get("DOMSHARE_DB_URL", "sqlite:///domshare.db"))
    parser.add_argument("--out", type=Path, default=Path("docs/screenshots"))
    parser.add_argument("--series", help="series key for series.png (default: the page's first series)")
    parser.add_argument("--pages", nargs="+", metavar="PAGE",
                        help=f"pages to shoot instead of the README pair: {', '.join(PAGES)}, "
                             "series:KEY for one series, target:ID for one evidence card")
    parser.add_argument("--width", type=int, default=1400, help="viewport width in pixels")
    parser.add_argument("--height", type=int, default=1300, help="viewport height in pixels")
    parser.add_argument("--full-page", action="store_true", help="the whole scrolled page, not the viewport")
    parser.add_argument("--suffix", default="", help="added to each file name, e.g. -narrow")
    args = parser.parse_args(argv)
    for path in take(args.db, args.out, args.series, args.width, args.height, args.pages,
                     args.full_page, args.suffix):
        print(path)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
