"""The app at many series (issue 10): the series page reads one series' rows, the download
buttons count rows without reading them and build the same bytes as `domshare export` when
clicked, and the overview's tables cap their rows and say so. Stores are written through the
real writers and refreshed by the real `domshare refresh` (naive model: seconds)."""
from __future__ import annotations

import csv
import datetime as dt
import io
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
from sqlalchemy import update
from streamlit.testing.v1 import AppTest

from forecast.frames import SERIES
from jobs import export
from jobs.store import db, read
from jobs.store import schema as db_schema
from synthetic_store import monthly_logistic, seed_store
from ui import common, queries, style

ROOT = Path(__file__).resolve().parents[2]
APP = ROOT / "ui" / "app.py"


def domshare(*args: str) -> None:
    done = subprocess.run([sys.executable, "-m", "jobs", *args], cwd=ROOT, capture_output=True, text=True,
                          timeout=600)
    assert done.returncode == 0, done.stdout + done.stderr


def target(key: str, number: int, threshold: float = 0.7) -> dict:
    return {"id": f"T-{key}-{number}", "series_key": key, "threshold": threshold,
            "deadline": dt.date(2026 + number % 8, 12, 31), "measure": "direct"}


@pytest.fixture(scope="module")
def two_series(tmp_path_factory) -> str:
    """Two forecast series, each measuring two targets, after one refresh."""
    url = f"sqlite:///{tmp_path_factory.mktemp('two') / 'store.db'}"
    series = {key: monthly_logistic("2012-01-01", "2021-12-01", "2020-01-01", rate, 0.01, seed)
              for seed, (key, rate) in enumerate((("a", 0.4), ("b", 0.7)))}
    seed_store(url, series, [target(key, n, 0.5 + 0.2 * n) for key in series for n in (0, 1)])
    domshare("refresh", "--db", url, "--models", "naive,drift", "--workers", "1")
    return url


def test_the_series_page_reads_only_its_series_rows(two_series):
    stamp = queries.stamp(two_series)
    engine = db.make_engine(two_series)
    with engine.connect() as conn:
        whole = read.run_frames(conn, stamp.run_id)
    engine.dispose()
    assert set(whole["forecasts"][SERIES]) == {"a", "b"}
    mine = queries.series_run(two_series, "a", stamp.run_id)
    for name, frame in mine.items():
        column = SERIES if SERIES in frame.columns else "series_key"
        assert not frame.empty and set(frame[column]) == {"a"}, name
        expected = whole[name][whole[name][column] == "a"].reset_index(drop=True)
        assert len(frame) == len(expected), name  # every row of the series, and only those
    assert set(queries.observations(two_series, "a", stamp)["date"]) == set(
        monthly_logistic("2012-01-01", "2021-12-01", "2020-01-01", 0.4, 0.01, 0)["date"])


def filtered_file(path: Path, keys: set[str]) -> bytes:
    """A `domshare export` file cut to the rows of `keys`, written as pandas writes CSV (its
    writer is the csv module's, minimal quoting, "\\n")."""
    rows = list(csv.reader(io.StringIO(path.read_text(encoding="utf-8"), newline="")))
    if SERIES in rows[0]:
        at = rows[0].index(SERIES)
        rows = rows[:1] + [row for row in rows[1:] if row[at] in keys]
    out = io.StringIO()
    csv.writer(out, lineterminator="\n").writerows(rows)
    return out.getvalue().encode("utf-8")


@pytest.mark.parametrize("keys", [None, ("a",), ("a", "b")])
def test_downloads_count_their_rows_and_build_the_bytes_of_domshare_export(two_series, tmp_path, keys):
    domshare("export", "--db", two_series, "--out", str(tmp_path))
    stamp = queries.stamp(two_series)
    rows = queries.export_rows(two_series, stamp, keys)
    files = queries.export_files(two_series, stamp, keys)
    assert list(rows) == list(files) == [name for name in export.export_frames(db.make_engine(two_series))]
    for name, data in files.items():
        expected = (tmp_path / name).read_bytes() if keys is None else filtered_file(tmp_path / name, set(keys))
        assert data == expected, name
        assert rows[name] == len(pd.read_csv(io.BytesIO(data))), name
    if keys == ("a",):
        assert rows["forecasts.csv"] > 0 and rows["targets.csv"] == 2
        # the button's deferred data is the same bytes
        assert common._file(two_series, stamp, keys, "forecasts.csv") == files["forecasts.csv"]


@pytest.fixture(scope="module")
def many(tmp_path_factory) -> str:
    """More forecast series than the overview's milestone table lists and more targets than
    its targets table lists (ui.style's caps), after one refresh."""
    url = f"sqlite:///{tmp_path_factory.mktemp('many') / 'store.db'}"
    keys = [f"s{i:04d}" for i in range(style.MILESTONE_ROWS + 5)]
    series = {key: monthly_logistic("2019-01-01", "2021-12-01", "2020-06-01", 0.5, 0.01, i)
              for i, key in enumerate(keys)}
    seed_store(url, series, [target(keys[i % len(keys)], i, 0.9) for i in range(style.TARGET_ROWS + 7)])
    domshare("refresh", "--db", url, "--models", "naive", "--workers", "2")
    return url


def caption_text(at: AppTest) -> str:
    return "\n".join(str(c.value) for c in at.caption)


@pytest.mark.slow
def test_overview_tables_cap_their_rows_and_say_how_to_narrow(many, monkeypatch):
    url = many
    monkeypatch.setenv("DOMSHARE_DB_URL", url)
    at = AppTest.from_file(str(APP), default_timeout=120)
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    targets, milestones = at.dataframe[0].value, at.dataframe[1].value
    n_targets, n_series = style.TARGET_ROWS + 7, style.MILESTONE_ROWS + 5
    assert len(targets) == style.TARGET_ROWS
    assert f"{n_targets} targets** — **showing the {style.TARGET_ROWS} most urgent: filter by sector or status" \
        in caption_text(at)
    assert len(milestones) == style.MILESTONE_ROWS
    assert f"Showing {style.MILESTONE_ROWS} of {n_series} forecast series" in caption_text(at)
    # Narrowing: the series whose key holds "s001" (s0010-s0019), every one listed.
    at.text_input(key="milestones-find").input("S001").run()
    assert not at.exception
    shown = at.dataframe[1].value
    assert sorted(shown["chart"].str.removeprefix("series?series=")) == [f"s001{i}" for i in range(10)]
    assert f"Showing 10 of 10 forecast series matching “S001” ({n_series} in all)" in caption_text(at)
    # The download buttons count every row, capped tables or not.
    labels = {b.label.split(" (")[0]: int(b.label.split("(")[1].split()[0].replace(",", "")) for b in at.download_button}
    assert labels["targets.csv"] == n_targets


def test_the_stamps_share_update_is_the_newest_share_observations_and_ignores_context(any_db_url):
    seed_store(any_db_url, {key: monthly_logistic("2020-01-01", "2020-12-01", "2020-06-01", 0.5, 0.01, i)
                            for i, key in enumerate(("a", "b", "ctx"))})
    engine = db.make_engine(any_db_url)
    obs, series = db_schema.observations, db_schema.series
    newest = dt.datetime(2026, 11, 30, 8, tzinfo=dt.timezone.utc)
    with db.transaction(engine) as conn:
        conn.execute(update(series).where(series.c.key == "ctx").values(kind="context"))
        conn.execute(update(obs).values(updated_at=newest - dt.timedelta(days=3)))
        conn.execute(update(obs).where(obs.c.series_key == "b", obs.c.date == dt.date(2020, 5, 1)).values(updated_at=newest))
        conn.execute(update(obs).where(obs.c.series_key == "ctx").values(updated_at=newest + dt.timedelta(days=1)))
        conn.execute(update(obs).where(obs.c.series_key == "b", obs.c.date == dt.date(2020, 6, 1)).values(updated_at=None))
    engine.dispose()
    queries.engine.clear()
    stamp = queries.stamp(any_db_url)
    utc = lambda t: t.replace(tzinfo=t.tzinfo or dt.timezone.utc)  # SQLite gives it back naive
    assert utc(stamp.last_share_update) == newest and utc(stamp.last_observation_update) == newest + dt.timedelta(days=1)
