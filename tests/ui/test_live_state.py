"""The pages a viewer checks when the service runs on its own: feed items from a real
`domshare pull` marked unreviewed, a failed pull warned about, and the next run read from
the job store a real `domshare scheduler` process wrote (without the UI importing it)."""
from __future__ import annotations

import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest
from sqlalchemy import inspect, text

from jobs import scheduler
from jobs.sources.config import load_config
from jobs.store import db
from test_app import open_page
from ui import queries

ROOT = Path(__file__).resolve().parents[2]
FEED = ROOT / "tests" / "fixtures" / "feeds" / "policies_rss_v1.xml"


@pytest.fixture
def live_db(built_sqlite, tmp_path):
    """The built store after one real pull round (a feed and a source that now serves an
    HTML page) and a scheduler that persisted its jobs, then stopped."""
    shutil.copy(built_sqlite.removeprefix("sqlite:///"), tmp_path / "live.db")
    url = f"sqlite:///{tmp_path / 'live.db'}"
    (tmp_path / "error.html").write_text("<html><body>Service temporarily unavailable</body></html>")
    sources = tmp_path / "sources.toml"
    sources.write_text(f'''local_dirs = ["{tmp_path}", "{FEED.parent}"]
[[sources]]
name = "feed-gov"
kind = "policy_feed"
url = "{FEED}"
schedule = "17 * * * *"

[[sources]]
name = "statcounter-mobile-vendor"
kind = "statcounter"
url = "{tmp_path / 'error.html'}"
schedule = "10 6 3 * *"
[sources.options]
series_key = "phones_usage_statcounter_domestic_share"
''')
    pull = subprocess.run([sys.executable, "-m", "jobs", "pull", "--db", url, "--sources", str(sources)],
                          capture_output=True, text=True, timeout=300)
    assert pull.returncode != 0, "the HTML page must fail its pull"
    process = subprocess.Popen([sys.executable, "-m", "jobs", "scheduler", "--db", url, "--sources",
                                str(sources), "--out", str(tmp_path / "exports")],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    engine = db.make_engine(url)
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if queries.APSCHEDULER_TABLE in inspect(engine).get_table_names():
                with engine.connect() as conn:
                    if conn.execute(text(f"select count(*) from {queries.APSCHEDULER_TABLE}")).scalar() >= 2:
                        break
            time.sleep(0.3)
        else:
            pytest.fail("the scheduler persisted no jobs within 60 s")
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=60)
        engine.dispose()
    return url


def test_ui_constants_match_the_scheduler(tmp_path):
    """The UI reads the scheduler's table by name (importing it would import apscheduler)."""
    assert queries.APSCHEDULER_TABLE == scheduler.JOBSTORE_TABLE
    sources = tmp_path / "sources.toml"
    sources.write_text(f'local_dirs = ["{FEED.parent}"]\n[[sources]]\nname = "feed-gov"\nkind = "policy_feed"\nurl = "{FEED}"\n'
                       'schedule = "17 * * * *"\n')
    jobs = scheduler.desired_jobs(load_config(sources), tmp_path, {})
    assert queries.PULL_JOB_PREFIX + "feed-gov" in {job["id"] for job in jobs}


def test_failed_pull_feed_items_and_next_runs_are_shown(live_db, monkeypatch):
    overview = open_page(live_db, monkeypatch)
    warnings = [w.value for w in overview.warning]
    assert any("statcounter-mobile-vendor" in w and "failed" in w for w in warnings), warnings

    policies = open_page(live_db, monkeypatch, "policies")
    table = policies.dataframe[0].value
    feed_items = table[table["review"].str.contains("unreviewed")]
    assert len(feed_items) >= 1 and feed_items["source"].str.startswith("http").all()
    assert set(table["id"]) >= {f"P{n:02d}" for n in range(1, 21)}

    runs = open_page(live_db, monkeypatch, "runs")
    sources = runs.dataframe[0].value.set_index("source")
    assert sources.loc["statcounter-mobile-vendor", "outcome"] == "failed"
    assert sources.loc["statcounter-mobile-vendor", "error kind"] == "SourceChanged"
    # Shown to the minute, in UTC.
    next_run = pd.Timestamp(sources.loc["feed-gov", "next scheduled run"], tz="UTC")
    now = pd.Timestamp.now(tz="UTC")
    assert now - pd.Timedelta(minutes=1) < next_run <= now + pd.Timedelta(hours=1, minutes=1)
    assert not sources.astype(str).isin(["None", "nan", "NaT"]).any().any(), sources
    jobs = next(d.value for d in runs.dataframe if "job" in d.value.columns and "next_run" in d.value.columns)
    assert {"pull:feed-gov", "pull:statcounter-mobile-vendor"} <= set(jobs["job"])


def test_failed_pulls_of_many_sources_are_one_warning_with_a_count(built_sqlite, tmp_path, monkeypatch):
    shutil.copy(built_sqlite.removeprefix("sqlite:///"), tmp_path / "failing.db")
    url = f"sqlite:///{tmp_path / 'failing.db'}"
    (tmp_path / "error.html").write_text("<html><body>Service temporarily unavailable</body></html>")
    names = [f"statcounter-mirror-{n}" for n in range(3)]
    (tmp_path / "sources.toml").write_text(f'local_dirs = ["{tmp_path}"]\n' + "".join(f'''
[[sources]]
name = "{name}"
kind = "statcounter"
url = "{tmp_path / 'error.html'}"
schedule = "10 6 3 * *"
[sources.options]
series_key = "phones_usage_statcounter_domestic_share"
''' for name in names))
    pull = subprocess.run([sys.executable, "-m", "jobs", "pull", "--db", url, "--sources",
                           str(tmp_path / "sources.toml")], capture_output=True, text=True, timeout=300)
    assert pull.returncode != 0
    warnings = [w.value for w in open_page(url, monkeypatch).warning]
    failed = [w for w in warnings if "failed" in w and "pull" in w]
    assert len(failed) == 1, warnings
    assert "**3 sources**" in failed[0] and "SourceChanged ×3" in failed[0]
    assert all(name in failed[0] for name in names)
    runs = open_page(url, monkeypatch, "runs")
    pulled = runs.dataframe[0].value
    assert set(pulled["source"]) == set(names) and set(pulled["outcome"]) == {"failed"}
    files = runs.dataframe[1].value  # the bundled files stay apart from the pulls
    assert {"statcounter", "top500"} <= set(files["source"]) and not set(names) & set(files["source"])
