from __future__ import annotations

import datetime as dt
import json
import re
import subprocess
import sys

import pandas as pd
import pytest

from jobs import cli
from jobs.periods import period_label
from jobs.sources.base import OBSERVATION_COLUMNS
from jobs.store import db, writes


def run_cli(*args, cwd=None):
    return subprocess.run([sys.executable, "-m", "jobs", *args], capture_output=True, text=True,
                          cwd=cwd, timeout=300)


def test_status_json_keys_on_an_empty_schema(any_db_url):
    db.upgrade(db.make_engine(any_db_url))
    out = run_cli("status", "--json", "--db", any_db_url)
    assert out.returncode == 0, out.stderr
    status = json.loads(out.stdout)
    for key in ("series", "observations", "policies", "targets", "runs", "targets_with_probability", "targets_no_data"):
        assert status[key] == 0
    assert status["latest_run"] is None


def test_status_without_schema_says_which_command_to_run(tmp_path):
    out = run_cli("status", "--db", f"sqlite:///{tmp_path / 'x.db'}")
    assert out.returncode == 3
    assert "domshare init" in out.stderr
    assert "Traceback" not in out.stderr


# ---- per-series freshness: the last period as readers name it, and the publisher ----------

# key: (frequency, publisher, [(date, period_type)]); the newest observation decides the label
SERIES = {
    "s_annual": ("annual", "CAICT", [(dt.date(2020, 1, 1), "year"), (dt.date(2021, 1, 1), "year")]),
    "s_quarterly": ("quarterly", "Omdia", [(dt.date(2021, 10, 1), "quarter")]),
    # the newest row has no period type: the frequency says what it stands for, not the older row
    "s_half": ("half_yearly", None, [(dt.date(2020, 1, 1), "year"), (dt.date(2021, 1, 1), None)]),
    "s_monthly": ("monthly", "StatCounter", [(dt.date(2021, 5, 1), "month"), (dt.date(2021, 6, 1), "month")]),
    "s_list": ("half_yearly", "TOP500", [(dt.date(2021, 11, 1), "list")]),
    "s_day": ("irregular", None, [(dt.date(2021, 3, 15), "day")]),
    "s_empty": ("annual", None, []),
}
EXPECTED_LAST = {"s_annual": "2021", "s_quarterly": "2021-Q4", "s_half": "2021-H1", "s_monthly": "2021-06",
                 "s_list": "2021-11", "s_day": "2021-03-15", "s_empty": None}


@pytest.fixture
def status_db(any_db_url):
    engine = db.make_engine(any_db_url)
    db.upgrade(engine)
    with db.transaction(engine) as conn:
        writes.upsert_sectors(conn, [{"code": "all", "name": "All sectors"}])
        writes.upsert_technologies(conn, [{"code": "chips", "name": "Chips"}])
        writes.upsert_series(conn, [
            {"key": key, "sector": "all", "technology": "chips", "frequency": frequency, "title": key,
             "source": f"source of {key}", "publisher": publisher, "origin": "bundled"}
            for key, (frequency, publisher, _) in SERIES.items()])
        rows = [{"series_key": key, "date": date, "value": 0.5, "period_type": ptype}
                for key, (_, _, observations) in SERIES.items() for date, ptype in observations]
        writes.upsert_observations(conn, pd.DataFrame(rows, columns=OBSERVATION_COLUMNS), None)
    engine.dispose()
    return any_db_url


def test_status_json_keeps_last_date_and_adds_last_period_and_publisher(status_db, capsys):
    assert cli.main(["status", "--json", "--db", status_db]) == 0
    detail = {s["key"]: s for s in json.loads(capsys.readouterr().out)["series_detail"]}
    assert {k: s["last_period"] for k, s in detail.items()} == EXPECTED_LAST
    assert detail["s_annual"]["last_date"] == "2021-01-01"  # the interface key is unchanged
    assert detail["s_annual"]["first_date"] == "2020-01-01" and detail["s_annual"]["observations"] == 2
    assert detail["s_empty"]["last_date"] is None and detail["s_empty"]["observations"] == 0
    assert {k: s["publisher"] for k, s in detail.items()} == {k: v[1] for k, v in SERIES.items()}


def test_status_text_shows_periods_not_first_days_and_the_publisher(status_db, capsys):
    assert cli.main(["status", "--db", status_db]) == 0
    lines = capsys.readouterr().out.splitlines()
    head = next(i for i, line in enumerate(lines) if line.split()[:2] == ["series", "obs"])
    assert lines[head].split() == ["series", "obs", "last", "period", "publisher", "source"]
    table = {line.split()[0]: line.split() for line in lines[head + 1:]}
    assert set(table) == set(SERIES)
    for key, (_, publisher, observations) in SERIES.items():
        obs_count, last, shown_publisher = table[key][1:4]
        assert obs_count == str(len(observations))
        assert last == (EXPECTED_LAST[key] or "-"), key
        assert shown_publisher == (publisher or "-"), key
    assert "2021-01-01" not in "\n".join(lines[head:])  # no period shown as its first day


@pytest.mark.parametrize("date, period_type, frequency, label", [
    (dt.date(2021, 1, 1), "year", None, "2021"),
    (dt.date(2021, 7, 1), "half_year", None, "2021-H2"),
    (dt.date(2021, 4, 1), None, "quarterly", "2021-Q2"),
    (dt.date(2021, 12, 1), None, "monthly", "2021-12"),
    (dt.date(2021, 6, 1), "list", "half_yearly", "2021-06"),  # the observation's own type wins
    (dt.date(2021, 1, 1), "ytd", "monthly", "2021-01-01"),  # cumulative: the date says no more
    (dt.date(2021, 1, 1), None, "irregular", "2021-01-01"),
    (None, "year", "annual", None),
])
def test_period_label(date, period_type, frequency, label):
    assert period_label(date, period_type, frequency) == label


# ---- target counts of the latest run, on the real bundled data ---------------------------

def test_status_counts_targets_with_a_probability_and_without_data(sqlite_url, capsys):
    """Every target whose measuring series has enough exact/approximate points to forecast gets a
    probability; the counts in `status --json` are those of the latest run."""
    # in child processes: parsing the workbooks in-process under capsys would bind xlrd's
    # default log file (sys.stdout at import) to a stream closed after this test
    for args in (["init"], ["refresh", "--models", "naive,drift", "--workers", "1"]):
        assert run_cli(*args, "--db", sqlite_url).returncode == 0
    assert cli.main(["status", "--db", sqlite_url]) == 0  # the text: a time a reader can read
    assert re.search(r"^latest run    #\d+ finished \d{4}-\d\d-\d\d \d\d:\d\d UTC$", capsys.readouterr().out, re.M)
    assert cli.main(["status", "--json", "--db", sqlite_url]) == 0
    status = json.loads(capsys.readouterr().out)
    engine = db.make_engine(sqlite_url)
    with engine.connect() as conn:
        assessed = pd.read_sql("SELECT a.target_id, a.status, a.probability_by_deadline, t.series_key, "
                               "t.missing_evidence "
                               "FROM target_assessments a JOIN targets t ON t.id = a.target_id "
                               f"WHERE a.run_id = {status['latest_run']['id']}", conn)
        fit_points = pd.read_sql("SELECT series_key, COUNT(*) AS n FROM observations "
                                 "WHERE kind IN ('exact', 'approximate') GROUP BY series_key", conn)
    engine.dispose()
    assert len(assessed) == status["targets"]
    assert status["targets_with_probability"] == assessed["probability_by_deadline"].notna().sum() > 0
    assert status["targets_no_data"] == (assessed["status"] == "no_data").sum() > 0
    forecastable = set(fit_points.loc[fit_points["n"] >= 4, "series_key"])
    answerable = assessed[assessed["series_key"].isin(forecastable)]
    assert len(answerable) > 0 and answerable["probability_by_deadline"].notna().all()
    # every target the evidence cannot forecast says in one phrase what is missing
    unanswerable = assessed[~assessed["series_key"].isin(forecastable)]
    assert len(unanswerable) > 0 and unanswerable["missing_evidence"].str.strip().astype(bool).all()
