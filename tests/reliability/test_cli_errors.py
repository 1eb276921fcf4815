"""How the command line ends when things go wrong outside the input files: a reader that
goes away, a bug of ours, NUL characters on PostgreSQL, a missing data folder."""
from __future__ import annotations

import subprocess
import sys

import pytest
from sqlalchemy import select

from local_server import FIXTURES, RAW, ROOT, Reply, catalogue_store
from jobs import cli
from jobs.cli import status
from jobs.store import schema
from store_contents import table_contents


def test_a_reader_that_goes_away_ends_the_command_quietly(store_url):
    process = subprocess.Popen([sys.executable, "-m", "jobs", "status", "--db", store_url],
                               cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    process.stdout.close()  # like `domshare status | head -0`: nobody reads what it prints
    _, err = process.communicate(timeout=60)
    assert process.returncode == 141, err
    assert b"Traceback" not in err and b"BrokenPipeError" not in err and b"Exception ignored" not in err


def test_a_bug_is_reported_as_one_and_v_shows_the_traceback(store_url, monkeypatch, capsys):
    def broken(args, settings):  # stands in for a bug in a command: a real one would be fixed
        return {}["missing"]

    monkeypatch.setattr(status, "run", broken)
    assert cli.main(["status", "--db", store_url]) == 70
    err = capsys.readouterr().err
    assert err == ("error: internal error (a bug in domshare, please report it): KeyError: 'missing'; "
                   "run with -v for the traceback\n")
    assert cli.main(["-v", "status", "--db", store_url]) == 70
    err = capsys.readouterr().err
    assert "Traceback (most recent call last)" in err and 'return {}["missing"]' in err


def test_a_missing_data_folder_is_a_setting_error(store_url, monkeypatch, capsys, tmp_path):
    monkeypatch.setenv("DOMSHARE_DATA_DIR", str(tmp_path / "nope"))
    assert cli.main(["status", "--db", store_url]) == 2
    assert capsys.readouterr().err == f"error: DOMSHARE_DATA_DIR='{tmp_path / 'nope'}' is not a folder " \
                                      "(the bundled data folder)\n"


@pytest.mark.postgres
def test_nul_characters_never_reach_postgresql(pg_url, server, tmp_path, capsys):
    engine = catalogue_store(pg_url)
    feed = (FIXTURES / "feeds" / "policies_rss_v2.xml").read_bytes()
    title_at = feed.index(b"<title>", feed.index(b"<item>")) + len(b"<title>")
    server.set("/feed.xml", Reply(feed[:title_at] + b"\x00" + feed[title_at:]))
    csv = (RAW / "statcounter" / "vendor-CN-monthly-201003-202404.csv").read_bytes()
    server.set("/sc.csv", Reply(csv.replace(b"\n2015-01,", b"\n2015-01\x00,", 1)))
    sources = tmp_path / "sources.toml"
    sources.write_text(f'[[sources]]\nname = "feed"\nkind = "policy_feed"\nurl = "{server.url}/feed.xml"\n'
                       f'[[sources]]\nname = "sc"\nkind = "statcounter"\nurl = "{server.url}/sc.csv"\n')
    assert cli.main(["pull", "--db", pg_url, "--sources", str(sources), "feed"]) == 0
    with engine.connect() as conn:
        titles = conn.execute(select(schema.policies.c.title).where(schema.policies.c.feed == "feed")).scalars().all()
    assert titles and not any("\x00" in t for t in titles)
    before = table_contents(engine)
    assert cli.main(["pull", "--db", pg_url, "--sources", str(sources), "sc"]) == 5
    out = capsys.readouterr().out
    assert "sc failed (InvalidData)" in out and "control character U+0000" in out and "DataError" not in out
    after = table_contents(engine)
    assert after["observations"] == before["observations"] == []
    engine.dispose()


@pytest.mark.parametrize("url, shown", [
    ("mysql://me:hunter2@db.example/x", "mysql is not supported"),
    ("sqlite:///{tmp}/notes.txt", "is not a SQLite database file"),
])
def test_the_app_names_a_database_it_cannot_use_without_a_traceback(tmp_path, monkeypatch, url, shown):
    from streamlit.testing.v1 import AppTest

    (tmp_path / "notes.txt").write_text("not a database\n")
    monkeypatch.setenv("DOMSHARE_DB_URL", url.format(tmp=tmp_path))
    app = AppTest.from_file(str(ROOT / "ui" / "app.py"), default_timeout=90)
    app.run()
    assert not app.exception, [e.value for e in app.exception]
    errors = " ".join(e.value for e in app.error)
    assert "Cannot read the database" in errors and shown in errors and "hunter2" not in errors


@pytest.mark.postgres
def test_an_import_with_a_nul_byte_on_postgresql_is_one_error_and_changes_nothing(pg_url, tmp_path, capsys):
    engine = catalogue_store(pg_url)
    path = tmp_path / "mine.csv"
    path.write_bytes(b"series,date,domestic_share_pct,sector,technology,source\n"
                     b"mine_db,2021,12.5,banking,databases,Survey\x00 2022\n")
    before = table_contents(engine)
    assert cli.main(["import", str(path), "--db", pg_url]) == 4
    err = capsys.readouterr().err
    assert err.startswith("error: ") and "Traceback" not in err
    assert f"{path}, row 2: control character U+0000" in err
    assert table_contents(engine) == before
    engine.dispose()


def test_a_bug_in_a_fit_fails_the_run_as_a_bug_and_the_previous_run_stays_current(tmp_path, monkeypatch, capsys):
    from forecast.models import CannotFit
    from jobs import refresh
    from jobs.store import db, read
    from synthetic_store import monthly_logistic, seed_store

    url = f"sqlite:///{tmp_path / 'store.db'}"
    seed_store(url, {"good": monthly_logistic("2012-01-01", "2021-12-01", "2024-01-01", 0.5, 0.015, 1),
                     "other": monthly_logistic("2014-01-01", "2021-12-01", "2022-06-01", 0.4, 0.015, 2)})
    args = ["refresh", "--db", url, "--workers", "1", "--models", "naive,drift"]
    assert cli.main(args) == 0
    capsys.readouterr()
    engine = db.make_engine(url)
    with engine.connect() as conn:
        first = read.latest_run(conn)["id"]
    real = refresh.forecast_series

    def cannot_fit_other(series, *rest):  # a documented failure: that series fails alone
        if series == "other":
            raise CannotFit("other: the series is constant")
        return real(series, *rest)

    monkeypatch.setattr(refresh, "forecast_series", cannot_fit_other)
    assert cli.main([*args, "--force"]) == 1  # a complete run with a failed series
    assert "failed: other: CannotFit: other: the series is constant" in capsys.readouterr().out
    with engine.connect() as conn:
        second = read.latest_run(conn)["id"]
        statuses = dict(read.run_frames(conn, second)["run_series"][["series_key", "status"]].values)
    assert second != first and statuses == {"good": "ok", "other": "failed"}

    def buggy(series, *rest):  # stands in for a bug in our own code (a real one would be fixed)
        return {}["missing"]

    monkeypatch.setattr(refresh, "forecast_series", buggy)
    assert cli.main([*args, "--force"]) == 70
    err = capsys.readouterr().err
    assert err.startswith("error: internal error (a bug in domshare, please report it): fitting series ")
    assert "KeyError: 'missing'" in err and "run with -v for the traceback" in err
    with engine.connect() as conn:
        assert read.latest_run(conn)["id"] == second  # the failed run never became current
        last = conn.execute(select(schema.forecast_runs).order_by(schema.forecast_runs.c.id.desc())).mappings().first()
    engine.dispose()
    assert last["id"] > second and last["status"] == "failed" and "KeyError" in last["error"]


def test_the_policies_page_of_a_store_with_feed_items_but_no_targets(server, tmp_path, monkeypatch):
    from streamlit.testing.v1 import AppTest

    url = f"sqlite:///{tmp_path / 'store.db'}"
    catalogue_store(url).dispose()  # the catalogue only: no curated policies, no targets
    server.set("/feed.xml", Reply((FIXTURES / "feeds" / "policies_rss_v2.xml").read_bytes()))
    sources = tmp_path / "sources.toml"
    sources.write_text(f'[[sources]]\nname = "feed"\nkind = "policy_feed"\nurl = "{server.url}/feed.xml"\n')
    assert cli.main(["pull", "--db", url, "--sources", str(sources), "feed"]) == 0
    monkeypatch.setenv("DOMSHARE_DB_URL", url)
    app = AppTest.from_file(str(ROOT / "ui" / "app.py"), default_timeout=90)
    app.run()
    app.switch_page("views/policies.py").run()
    assert not app.exception, [e.value for e in app.exception]
    caption = " ".join(str(e.value) for e in app.caption)
    table = app.dataframe[0].value
    assert f"{len(table)} of {len(table)} policy events shown" in caption and len(table) > 0
    assert set(table["review"]) == {"⚠ unreviewed feed item"} and set(table["targets"]) == {""}


def test_a_bug_in_a_parser_fails_that_pull_as_a_bug_and_the_others_still_run(store_url, server, tmp_path,
                                                                               monkeypatch, capsys):
    from jobs.sources import policy_feed

    def buggy(raw, options=None):  # stands in for a bug in a parser (a real one would be fixed)
        return {}["missing"]

    monkeypatch.setattr(policy_feed, "parse", buggy)
    server.set("/feed.xml", Reply((FIXTURES / "feeds" / "policies_rss_v2.xml").read_bytes()))
    server.set("/mine.csv", Reply(b"series,date,domestic_share_pct,sector,technology\nmine_x,2021,12,banking,databases\n"))
    sources = tmp_path / "sources.toml"
    sources.write_text(f'[[sources]]\nname = "feed"\nkind = "policy_feed"\nurl = "{server.url}/feed.xml"\n'
                       f'[[sources]]\nname = "mine"\nkind = "csv_url"\nurl = "{server.url}/mine.csv"\n')
    assert cli.main(["pull", "--db", store_url, "--sources", str(sources)]) == 70
    out = capsys.readouterr().out
    assert "feed failed (InternalError)" in out and "KeyError: 'missing'" in out and "a bug in domshare" in out
    from jobs.store import db

    engine = db.make_engine(store_url)
    with engine.connect() as conn:
        pulls = dict(conn.execute(select(schema.pulls.c.source, schema.pulls.c.status)).all())
    engine.dispose()
    assert pulls["feed"] == "failed" and pulls["mine"] == "ok"  # the other source was pulled
