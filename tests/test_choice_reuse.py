"""Refits that reuse the stored model choice, on real SQLite files and PostgreSQL with real
(naive/drift) fits: a series whose data only changed is refitted with the choice of the run
that made it -- the final fit only, its backtest scores read from that run -- until its
newest observation is a year past what the choice saw; new thresholds, parameters, code,
`--force` and `--reselect` make a new choice."""
from __future__ import annotations

import datetime as dt
import json
from dataclasses import replace
from pathlib import Path

import pandas as pd
import pytest
from sqlalchemy import insert, select, text, update
from streamlit.testing.v1 import AppTest

from forecast.engine import EngineConfig
from jobs import fingerprints
from jobs.cli.status import collect_status
from jobs.refresh import refresh
from jobs.sources.base import OBSERVATION_COLUMNS
from jobs.store import db, read, schema, writes
from synthetic_store import monthly_logistic, seed_store, store_at_revision
from test_refresh import cli

FAST = EngineConfig(specs=("naive", "drift"), as_of="2023-01-01")
TARGETS = [{"id": "T-a", "threshold": 0.45, "deadline": dt.date(2026, 6, 30), "series_key": "a", "measure": "direct"}]
CLI_FAST = ["--models", "naive,drift", "--workers", "1"]


@pytest.fixture
def store(any_db_url):
    seed_store(any_db_url, {
        "a": monthly_logistic("2012-01-01", "2021-12-01", "2023-06-01", 0.6, 0.01, 1),
        "b": monthly_logistic("2014-01-01", "2021-12-01", "2026-01-01", 0.4, 0.01, 2),
        "short": monthly_logistic("2021-01-01", "2021-03-01", "2024-01-01", 0.5, 0.01, 3),  # insufficient data
    }, TARGETS)
    engine = db.make_engine(any_db_url)
    yield engine
    engine.dispose()


def new_months(engine, key: str, first: str, months: int, value: float = 0.42) -> None:
    """What a pull writes: `months` new monthly observations of `key` from `first`."""
    dates = pd.date_range(first, periods=months, freq="MS")
    with db.transaction(engine) as conn:
        writes.upsert_observations(conn, pd.DataFrame({
            "series_key": key, "date": [d.date() for d in dates], "value": value, "period_type": "month",
            "source_url": None, "note": None})[OBSERVATION_COLUMNS], None)


def row(engine, run_id: int, key: str) -> dict:
    with engine.connect() as conn:
        return read.run_series_frame(conn, run_id, key).iloc[0].to_dict()


def frames(engine, run_id: int, key: str) -> dict[str, pd.DataFrame]:
    with engine.connect() as conn:
        return {name: frame.drop(columns="run_id", errors="ignore").reset_index(drop=True)
                for name, frame in read.run_frames(conn, run_id, key).items()}


def backtest_rows_held_by(engine, run_id: int) -> int:
    with engine.connect() as conn:
        b = schema.backtest_scores
        return len(conn.execute(select(b.c.model).where(b.c.run_id == run_id)).all())


def test_new_data_refits_with_the_stored_choice_and_reads_its_backtest_from_the_choosing_run(store):
    first = refresh(store, FAST, workers=1, progress=False)
    assert first.choice_reused_series == 0 and row(store, first.run_id, "a")["choice_run_id"] == first.run_id
    new_months(store, "a", "2022-01-01", 1)
    new_months(store, "b", "2022-01-01", 1)
    second = refresh(store, FAST, workers=2, progress=False)
    assert second.statuses == {"a": "ok", "b": "ok"} and second.carried_series == 1
    assert second.choice_reused_series == 2

    for key in ("a", "b"):
        before, after = row(store, first.run_id, key), row(store, second.run_id, key)
        assert (after["results_run_id"], after["choice_run_id"]) == (second.run_id, first.run_id)
        assert json.loads(after["choice"]) == json.loads(before["choice"])  # the same choice, made on data to 2021-12
        assert json.loads(after["choice"])["last_obs_date"] == "2021-12-01" and after["n_obs"] == before["n_obs"] + 1
        old, new = frames(store, first.run_id, key), frames(store, second.run_id, key)
        pd.testing.assert_frame_equal(old["backtest"], new["backtest"])  # the choosing run's scores
        assert not old["forecasts"].equals(new["forecasts"])  # the final fit ran on the new month
        assert new["forecasts"]["date"].min() > dt.date(2022, 1, 1)
    assert backtest_rows_held_by(store, second.run_id) == 0  # no backtest ran
    with store.connect() as conn:
        run = read.get_run(conn, second.run_id)
    assert (run["series_refitted"], run["series_choice_reused"], run["series_carried"]) == (2, 2, 1)
    assert collect_status(store)["latest_run"]["series_choice_reused"] == 2

    new_months(store, "a", "2022-02-01", 1)  # the choice travels on through the run that reused it
    third = refresh(store, FAST, workers=1, progress=False)
    assert third.statuses == {"a": "ok"} and third.choice_reused_series == 1
    assert row(store, third.run_id, "a")["choice_run_id"] == first.run_id
    assert row(store, third.run_id, "b")["choice_run_id"] == first.run_id  # carried over with it


def test_a_year_past_the_choice_s_data_makes_the_choice_again(store):
    first = refresh(store, FAST, workers=1, progress=False)
    new_months(store, "a", "2022-01-01", 11)  # to 2022-11: less than a year after 2021-12
    within = refresh(store, FAST, workers=1, progress=False)
    assert within.statuses == {"a": "ok"} and within.choice_reused_series == 1
    new_months(store, "a", "2022-12-01", 1)  # a year after the choice's data
    again = refresh(store, FAST, workers=1, progress=False)
    assert again.statuses == {"a": "ok"} and again.choice_reused_series == 0
    made = row(store, again.run_id, "a")
    assert made["choice_run_id"] == again.run_id and json.loads(made["choice"])["last_obs_date"] == "2022-12-01"
    assert backtest_rows_held_by(store, again.run_id) > 0 and first.run_id < again.run_id


def test_a_new_threshold_or_new_parameters_make_a_new_choice(store):
    refresh(store, FAST, workers=1, progress=False)
    new_months(store, "a", "2022-01-01", 1)
    with db.transaction(store) as conn:  # and a's target moves to a new threshold
        conn.execute(update(schema.targets).where(schema.targets.c.id == "T-a").values(threshold=0.55))
    moved = refresh(store, FAST, workers=1, progress=False)
    assert moved.statuses == {"a": "ok"} and moved.choice_reused_series == 0
    assert row(store, moved.run_id, "a")["choice_run_id"] == moved.run_id
    new_months(store, "b", "2022-01-01", 1)
    other = refresh(store, replace(FAST, n_paths=300), workers=1, progress=False)
    assert other.refitted_series == 3 and other.choice_reused_series == 0


def test_the_choice_key_is_the_skip_key_without_the_data():
    params = FAST.to_dict()
    keys = {(data, code): (fingerprints.series_key(data, "monthly", [0.5], params, code),
                           fingerprints.choice_key("monthly", [0.5], params, code))
            for data in ("d1", "d2") for code in ("code-1", "code-2")}
    assert keys["d1", "code-1"][0] != keys["d2", "code-1"][0]
    assert keys["d1", "code-1"][1] == keys["d2", "code-1"][1]  # new data: the same choice key
    assert keys["d1", "code-1"][1] != keys["d1", "code-2"][1]  # new forecasting code: a new choice
    assert fingerprints.choice_key("monthly", [0.5], params, "c") != fingerprints.choice_key(
        "monthly", [0.5], params, "c", {"P1": "2018-01-01"}) != fingerprints.choice_key("monthly", [0.6], params, "c")


def test_series_reselect_and_force_on_the_command_line(store, any_db_url):
    first = refresh(store, FAST, workers=1, progress=False)
    new_months(store, "a", "2022-01-01", 1)
    new_months(store, "b", "2022-01-01", 1)
    out = cli("refresh", "--db", any_db_url, *CLI_FAST, "--series", "a")
    assert "1 series refitted (1 ok, 0 insufficient_data, 0 failed; 1 with their stored model choice, 0 of them " \
           "with their posterior updated), 2 carried over" in out.stdout, out.stdout + out.stderr
    out = cli("backtest", "--db", any_db_url, *CLI_FAST, "--series", "a")  # the choosing run's scores
    assert f"(choice made in run {first.run_id} on data to 2021-12, reused); out-of-sample skill" in out.stdout
    assert "<- chosen" in out.stdout
    out = cli("refresh", "--db", any_db_url, *CLI_FAST, "--reselect")  # b's data changed: a new choice
    assert "1 series refitted (1 ok, 0 insufficient_data, 0 failed; 0 with their stored model choice" in out.stdout
    latest = collect_status(store)["latest_run"]
    assert row(store, latest["id"], "b")["choice_run_id"] == latest["id"]
    new_months(store, "a", "2022-02-01", 1)
    forced = refresh(store, FAST, workers=1, force=True, progress=False)
    assert forced.refitted_series == 3 and forced.choice_reused_series == 0
    assert all(row(store, forced.run_id, k)["choice_run_id"] == forced.run_id for k in ("a", "b"))


def test_the_series_page_says_the_choice_was_reused_and_the_runs_page_counts_it(sqlite_url, monkeypatch):
    seed_store(sqlite_url, {"a": monthly_logistic("2012-01-01", "2021-12-01", "2023-06-01", 0.6, 0.01, 1)})
    engine = db.make_engine(sqlite_url)
    first = refresh(engine, FAST, workers=1, progress=False)
    new_months(engine, "a", "2022-01-01", 1)
    refresh(engine, FAST, workers=1, progress=False)
    engine.dispose()
    monkeypatch.setenv("DOMSHARE_DB_URL", sqlite_url)
    at = AppTest.from_file(str(Path(__file__).resolve().parent.parent / "ui" / "app.py"), default_timeout=90)
    at.run()
    at.query_params["series"] = "a"
    at.switch_page("views/series.py").run()
    assert not at.exception, [e.value for e in at.exception]
    line = next(m.value for m in at.markdown if "Model used for the forecast" in m.value)
    assert f"choice made in run {first.run_id} on data to 2021-12, reused" in line
    assert any("crps_selection" in d.value.columns for d in at.dataframe)  # the choosing run's table
    at.switch_page("views/runs.py").run()
    runs = next(d.value for d in at.dataframe if "series_ok" in d.value.columns)  # newest first
    assert runs["series_choice_reused"].tolist() == ["1", "0"] and runs["series_refitted"].tolist() == ["1", "1"]


def test_0007_upgrades_a_store_of_schema_0006(any_db_url):
    engine = store_at_revision(any_db_url, "0006")
    with engine.begin() as conn:  # a run fitted before 0007, in that schema's columns
        conn.execute(text("INSERT INTO forecast_runs (id, started_at, status, series_refitted, series_carried) "
                          "VALUES (1, :t, 'complete', 1, 0)"), {"t": dt.datetime(2026, 11, 1)})
        conn.execute(text("INSERT INTO run_series (run_id, series_key, status, model, results_run_id) "
                          "VALUES (1, 'a', 'ok', 'drift', 1)"))
    db.upgrade(engine)
    assert db.current_revision(engine) == db.head_revision()
    with engine.connect() as conn:
        old = conn.execute(select(schema.run_series)).mappings().one()
        run = conn.execute(select(schema.forecast_runs)).mappings().one()
    assert (old["choice"], old["choice_run_id"], run["series_choice_reused"]) == (None, 1, None)
    with db.transaction(engine) as conn:  # and the new columns take a new run's rows
        conn.execute(insert(schema.run_series).values(run_id=1, series_key="b", status="ok", results_run_id=1,
                                                      choice="{}", choice_run_id=1))
    engine.dispose()
