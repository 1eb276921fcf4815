"""Forecast history across complete runs: the reads, `domshare history`, history.csv, and the
change since the previous run and since 30 days ago, on three real runs over changing data."""
from __future__ import annotations

import datetime as dt
import re

import pandas as pd
import pytest
from sqlalchemy import update

from forecast.frames import HISTORY_EXPORT_COLUMNS
from jobs import cli
from jobs.export import write_export
from jobs.refresh import refresh
from jobs.store import db, read, schema
from run_history import FAST, refresh_after_each_arrival


@pytest.fixture
def three_runs(any_db_url):
    run_ids = refresh_after_each_arrival(any_db_url)
    engine = db.make_engine(any_db_url)
    yield engine, run_ids
    engine.dispose()


def assessments(engine, run_id) -> pd.DataFrame:
    with engine.connect() as conn:
        return read.run_frames(conn, run_id)["targets"].set_index("target_id")


def test_history_holds_each_runs_assessment_and_crossing(three_runs):
    engine, run_ids = three_runs
    with engine.connect() as conn:
        history = read.target_history(conn, "T-rise")
        crossings = {r: read.run_frames(conn, r)["crossings"] for r in run_ids}
    assert list(history.columns) == HISTORY_EXPORT_COLUMNS
    assert list(history["run_id"]) == run_ids
    for row in history.itertuples():
        stored = assessments(engine, row.run_id).loc["T-rise"]
        assert (row.status, row.probability_by_deadline, row.projected_date) == \
            (stored["status"], stored["probability_by_deadline"], stored["projected_date"])
        crossing = crossings[row.run_id].set_index("threshold").loc[0.5]
        assert (row.p10_date, row.p90_date) == (crossing["p10_date"], crossing["p90_date"])
    assert history["status"].iloc[0] != history["status"].iloc[-1], "the climb should change the outlook"
    assert list(history["n_obs"]) == [72, 84, 96] and history["new_data"].all()
    assert history["input_hash"].nunique() == 3


def test_a_run_without_new_data_is_not_marked(three_runs):
    engine, run_ids = three_runs
    again = refresh(engine, FAST, workers=1, progress=False, force=True).run_id
    with engine.connect() as conn:
        history = read.target_history(conn, "T-rise")
        series = read.crossing_history(conn, "rising", 0.5)
    assert list(history["new_data"]) == [True, True, True, False]
    assert history["input_hash"].iloc[-1] == history["input_hash"].iloc[-2]
    assert list(series["run_id"]) == [*run_ids, again] and list(series["new_data"]) == [True, True, True, False]


def test_change_since_the_previous_run_and_since_30_days_ago(three_runs):
    engine, (first, second, third) = three_runs
    p = {r: assessments(engine, r).loc["T-rise", "probability_by_deadline"] for r in (first, second, third)}
    with engine.connect() as conn:
        recent = read.target_changes(conn, third).set_index("target_id").loc["T-rise"]
    assert recent["previous_run_id"] == second and recent["probability_change"] == pytest.approx(p[third] - p[second])
    assert recent["run_30d_id"] is None and pd.isna(recent["probability_change_30d"])
    with db.transaction(engine) as conn:  # the first run finished 40 days before the third
        finished = read.get_run(conn, third)["finished_at"]
        conn.execute(update(schema.forecast_runs).where(schema.forecast_runs.c.id == first)
                     .values(finished_at=finished - dt.timedelta(days=40)))
    with engine.connect() as conn:
        changes = read.target_changes(conn, third).set_index("target_id").loc["T-rise"]
        oldest = read.target_changes(conn, first).set_index("target_id").loc["T-rise"]
    assert changes["run_30d_id"] == first
    assert changes["probability_change_30d"] == pytest.approx(p[third] - p[first])
    assert changes["status_30d"] == assessments(engine, first).loc["T-rise", "status"]
    assert oldest["previous_run_id"] is None and pd.isna(oldest["probability_change"])


def test_history_csv_has_one_row_per_run_and_target(three_runs, tmp_path):
    engine, run_ids = three_runs
    write_export(engine, tmp_path / "latest")
    write_export(engine, tmp_path / "second", run_ids[1])
    latest = pd.read_csv(tmp_path / "latest" / "history.csv")
    with engine.connect() as conn:
        targets = len(read.targets_frame(conn))
    assert list(latest.columns) == HISTORY_EXPORT_COLUMNS
    assert len(latest) == len(run_ids) * targets
    assert sorted(set(pd.read_csv(tmp_path / "second" / "history.csv")["run_id"])) == run_ids[:2]


def test_history_command(three_runs, capsys):
    engine, run_ids = three_runs
    url = engine.url.render_as_string(hide_password=False)
    assert cli.main(["history", "--db", url, "--target", "T-rise"]) == 0
    out = capsys.readouterr().out
    assert "target T-rise: threshold 50% by 2030-12-31, measured by rising" in out
    assert all(f"*{r}" in out for r in run_ids)
    # dates read as the months they stand for, as on the series page, not as their first days
    assert re.search(r"  \d{4}-\d\d  ", out) and not re.search(r"\d{4}-\d\d-01\b(?! \d\d:\d\d)", out), out
    assert cli.main(["history", "--db", url, "--series", "rising", "--threshold", "0.75"]) == 0
    assert capsys.readouterr().out.count("75%") == len(run_ids)
    assert cli.main(["history", "--db", url, "--target", "T-nope"]) == 2
    assert "unknown target 'T-nope'" in capsys.readouterr().err
    assert cli.main(["history", "--db", url, "--target", "T-rise", "--threshold", "0.5"]) == 2
