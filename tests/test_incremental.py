"""Incremental refresh on real SQLite files and PostgreSQL, with the naive/drift baselines:
only new or changed series are refitted; the others are carried over and their targets
assessed again from the stored crossing CDFs on the run's own `as_of`."""
from __future__ import annotations

import datetime as dt
import json
from dataclasses import replace

import pandas as pd
import pytest
from sqlalchemy import select, update

from forecast.engine import EngineConfig
from jobs import incremental
from jobs.cli.status import collect_status
from jobs.export import write_export
from jobs.refresh import refresh
from jobs.store import db, read, runs, schema
from store_contents import assert_same_exports
from synthetic_store import monthly_logistic, seed_store
from test_refresh import cli

FAST = EngineConfig(specs=("naive", "drift"), as_of="2023-01-01")
A_YEAR_LATER = replace(FAST, as_of="2024-01-01")  # T-soon's deadline has passed by then
TARGETS = [
    {"id": "T-soon", "threshold": 0.45, "deadline": dt.date(2023, 6, 30), "series_key": "a", "measure": "direct"},
    {"id": "T-late", "threshold": 0.6, "deadline": dt.date(2030, 12, 31), "series_key": "b", "measure": "direct"},
    {"id": "T-short", "threshold": 0.6, "deadline": dt.date(2030, 12, 31), "series_key": "short", "measure": "proxy"},
    {"id": "T-bad", "threshold": 0.6, "deadline": dt.date(2030, 12, 31), "series_key": "bad", "measure": "direct"},
]
RESULT_TABLES = (schema.run_series, schema.forecasts, schema.crossings, schema.crossing_cdf, schema.backtest_scores)


def seed(url: str) -> None:
    seed_store(url, {
        "a": monthly_logistic("2012-01-01", "2021-12-01", "2023-06-01", 0.6, 0.01, 1),
        "b": monthly_logistic("2014-01-01", "2021-12-01", "2026-01-01", 0.4, 0.01, 2),
        "short": monthly_logistic("2021-01-01", "2021-03-01", "2024-01-01", 0.5, 0.01, 3),
        "bad": pd.DataFrame({"date": pd.date_range("2015-01-01", periods=6, freq="MS"),
                             "value": [0.1, 0.2, 1.5, 0.3, 0.3, 0.3]}),  # fails alone, on every fit
    }, TARGETS)


@pytest.fixture
def store(any_db_url):
    seed(any_db_url)
    engine = db.make_engine(any_db_url)
    yield engine
    engine.dispose()


def stored(engine, table, run_id: int) -> pd.DataFrame:
    """A result table's rows that run `run_id` shows (its own, and those its carried-over
    series point at), without the run id, in key order."""
    rs = schema.run_series
    columns = [c for c in table.c if c.name != "run_id"]
    query = select(*columns).where(rs.c.run_id == run_id).order_by(*columns[:3])
    if table is not rs:  # backtest scores stay with the run that made the model choice
        held_by = rs.c.choice_run_id if table is schema.backtest_scores else rs.c.results_run_id
        query = query.select_from(table.join(rs, (held_by == table.c.run_id)
                                             & (rs.c.series_key == table.c.series_key)))
    with engine.connect() as conn:
        rows = conn.execute(query).mappings().all()
    return pd.DataFrame(rows, columns=[c.name for c in columns])


def physical_rows(engine, table, run_id: int) -> int:
    with engine.connect() as conn:
        return len(conn.execute(select(table.c.series_key).where(table.c.run_id == run_id)).all())


def assessments(engine, run_id: int) -> pd.DataFrame:
    with engine.connect() as conn:
        return read.run_frames(conn, run_id)["targets"].drop(columns="run_id")


def test_a_new_day_refits_nothing_and_assesses_as_a_fresh_fit_would(store):
    first = refresh(store, FAST, workers=1, progress=False)
    assert first.refitted_series == 4 and first.carried_series == 0
    assert refresh(store, FAST, workers=1, progress=False).run_id is None  # same day, same data: no run
    later = refresh(store, A_YEAR_LATER, workers=1, progress=False)
    assert later.complete and later.statuses == {} and (later.refitted_series, later.carried_series) == (0, 4)
    fresh = refresh(store, A_YEAR_LATER, workers=2, force=True, progress=False)
    assert fresh.refitted_series == 4

    for table in RESULT_TABLES:  # carried over exactly, and a refit with the same seed agrees
        pd.testing.assert_frame_equal(stored(store, table, first.run_id), stored(store, table, later.run_id))
        if table is not schema.run_series:  # (fit seconds differ)
            pd.testing.assert_frame_equal(stored(store, table, later.run_id), stored(store, table, fresh.run_id))
    assert len(stored(store, schema.crossing_cdf, later.run_id)) > 0
    for table in RESULT_TABLES[1:]:  # carried over by reference: the rows stay with the first run
        assert physical_rows(store, table, later.run_id) == 0 < physical_rows(store, table, first.run_id)
    before, after = assessments(store, first.run_id).set_index("target_id"), assessments(store, later.run_id)
    pd.testing.assert_frame_equal(after, assessments(store, fresh.run_id))
    soon = after.set_index("target_id").loc["T-soon"]
    assert before.loc["T-soon", "status"] in ("on_track", "at_risk", "off_track")
    assert soon["status"] == "unobserved" and soon["basis"] == "forecast"  # the deadline passed, no fit
    assert 0 < soon["probability_by_deadline"] < 1
    assert after.set_index("target_id").loc["T-bad", "status"] == "no_data"
    with store.connect() as conn:
        run = read.get_run(conn, later.run_id)
    assert (run["series_refitted"], run["series_carried"]) == (0, 4)


def test_carried_assessments_at_chunk_boundaries_equal_the_fits_own_and_a_fresh_fits(store, monkeypatch):
    monkeypatch.setattr(incremental, "REASSESS_CHUNK", 3)  # a, b, bad (failed) | short: chunks of mixed statuses
    first = refresh(store, FAST, workers=1, progress=False)
    only_b = refresh(store, FAST, series=["b"], force=True, workers=1, progress=False)  # the others carried, same day
    assert (only_b.refitted_series, only_b.carried_series) == (1, 3)
    pd.testing.assert_frame_equal(assessments(store, only_b.run_id), assessments(store, first.run_id))
    later = refresh(store, A_YEAR_LATER, workers=1, progress=False)
    fresh = refresh(store, A_YEAR_LATER, workers=1, force=True, progress=False)
    assert (later.refitted_series, fresh.refitted_series) == (0, 4)
    carried, fitted = assessments(store, later.run_id), assessments(store, fresh.run_id)
    pd.testing.assert_frame_equal(carried, fitted)
    assert set(carried["status"]) >= {"unobserved", "no_data"} and not carried.equals(assessments(store, first.run_id))


def test_a_new_as_of_on_the_command_line_refits_nothing(store, any_db_url):
    args = ["refresh", "--db", any_db_url, "--models", "naive,drift", "--workers", "1"]
    assert "4 series refitted" in cli(*args, "--as-of", "2023-01-01").stdout
    later = cli(*args, "--as-of", "2024-01-01")
    assert "0 series refitted" in later.stdout and "4 carried over" in later.stdout, later.stdout + later.stderr
    with store.connect() as conn:
        run = read.latest_run(conn)
        soon = read.assessments_frame(conn, run["id"]).set_index("target_id").loc["T-soon"]
    assert json.loads(run["params"])["as_of"] == "2024-01-01" and soon["status"] == "unobserved"


def test_one_revised_observation_refits_exactly_that_series_and_force_refits_all(store, any_db_url):
    first = refresh(store, FAST, workers=1, progress=False)
    revise_b(store)
    revised = refresh(store, FAST, workers=1, progress=False)
    assert revised.statuses == {"b": "ok"} and revised.carried_series == 3
    for table in RESULT_TABLES:
        old, new = stored(store, table, first.run_id), stored(store, table, revised.run_id)
        pd.testing.assert_frame_equal(old[old["series_key"] != "b"].reset_index(drop=True),
                                      new[new["series_key"] != "b"].reset_index(drop=True))
        same = old[old["series_key"] == "b"].reset_index(drop=True).equals(new[new["series_key"] == "b"].reset_index(drop=True))
        # b's data only changed: refitted with its stored model choice, whose backtest scores are the first run's
        assert same if table is schema.backtest_scores else (table is schema.crossings or not same)
    status = collect_status(store)["latest_run"]
    assert status["id"] == revised.run_id and (status["series_refitted"], status["series_carried"]) == (1, 3)

    out = cli("refresh", "--db", any_db_url, "--models", "naive,drift", "--workers", "1", "--force")
    assert "4 series refitted" in out.stdout and "0 carried over" in out.stdout, out.stdout + out.stderr
    out = cli("status", "--db", any_db_url, "--json")
    assert json.loads(out.stdout)["latest_run"]["series_refitted"] == 4


def test_new_engine_parameters_or_a_new_threshold_refit(store):
    refresh(store, FAST, workers=1, progress=False)
    assert refresh(store, replace(FAST, seed=7), workers=1, progress=False).refitted_series == 4
    with db.transaction(store) as conn:  # a target at a new threshold on 'a': its CDFs lack it
        conn.execute(update(schema.targets).where(schema.targets.c.id == "T-soon").values(threshold=0.55))
    again = refresh(store, replace(FAST, seed=7), workers=1, progress=False)
    assert again.statuses == {"a": "ok"} and again.carried_series == 3
    with db.transaction(store) as conn:  # a new deadline only: assessed again, nothing refitted
        conn.execute(update(schema.targets).where(schema.targets.c.id == "T-late").values(deadline=dt.date(2029, 12, 31)))
    moved = refresh(store, replace(FAST, seed=7), workers=1, progress=False)
    assert moved.run_id and moved.refitted_series == 0
    assert assessments(store, moved.run_id).set_index("target_id").loc["T-late", "deadline"] == dt.date(2029, 12, 31)


def revise_b(engine) -> None:
    with db.transaction(engine) as conn:
        obs = schema.observations
        conn.execute(update(obs).where(obs.c.series_key == "b", obs.c.date == dt.date(2021, 12, 1)).values(value=0.3))


def refreshed_in_chunks(folder, monkeypatch, chunk: int) -> tuple[list[dict], list]:
    """The store refreshed (all new), after b's revision (b refitted), on a new day
    (nothing refitted) and once more (no run), planning, carrying and assessing `chunk`
    series at a time: the run records and each run's export folder."""
    for module, name in ((incremental, "PLAN_CHUNK"), (incremental, "REASSESS_CHUNK"), (runs, "CARRY_CHUNK")):
        monkeypatch.setattr(module, name, chunk)
    folder.mkdir()
    url = f"sqlite:///{folder / 'store.db'}"
    seed(url)
    engine = db.make_engine(url)
    exports = []
    for step, config in (("first", FAST), ("revised", FAST), ("new_day", A_YEAR_LATER), ("again", A_YEAR_LATER)):
        if step == "revised":
            revise_b(engine)
        outcome = refresh(engine, config, workers=1, progress=False)
        assert (outcome.run_id is None) == (step == "again"), step
        if outcome.run_id:
            write_export(engine, folder / step)
            exports.append(folder / step)
    r = schema.forecast_runs
    with engine.connect() as conn:
        records = [dict(row) for row in conn.execute(select(r.c.id, r.c.status, r.c.input_hash, r.c.params,
                                                            r.c.series_refitted, r.c.series_carried)
                                                     .order_by(r.c.id)).mappings()]
    engine.dispose()
    return records, exports


def test_chunks_of_one_series_give_the_same_runs_input_hashes_and_exports(tmp_path, monkeypatch):
    one, one_exports = refreshed_in_chunks(tmp_path / "one", monkeypatch, 1)
    whole, whole_exports = refreshed_in_chunks(tmp_path / "whole", monkeypatch, 1000)
    assert one == whole
    assert [(r["series_refitted"], r["series_carried"]) for r in one] == [(4, 0), (1, 3), (0, 4)]
    for ours, theirs in zip(one_exports, whole_exports, strict=True):
        assert_same_exports(ours, theirs)


def test_one_series_read_is_that_series_rows_of_the_whole_run(store):
    run_id = refresh(store, FAST, workers=1, progress=False).run_id
    with store.connect() as conn:
        whole, one = read.run_frames(conn, run_id), read.run_frames(conn, run_id, "a")
    for name, frame in whole.items():
        key = "series" if "series" in frame.columns else "series_key"
        mine = frame[frame[key] == "a"].reset_index(drop=True)
        assert len(mine) > 0
        pd.testing.assert_frame_equal(one[name].reset_index(drop=True), mine, check_dtype=False)


def test_the_schedulers_refresh_after_new_data_refits_only_the_changed_series(store, any_db_url):
    from jobs import scheduler
    from jobs.sources.base import OBSERVATION_COLUMNS
    from jobs.store import writes

    options = {"specs": ["naive", "drift"], "as_of": "2023-01-01", "workers": 1}
    scheduler.bind(any_db_url)
    try:
        assert scheduler.refresh_job(0.0, options)["outcome"] == "failed"  # 'bad' fails, as it should
        with db.transaction(store) as conn:  # what a pull writes: one new month of 'a'
            writes.upsert_observations(conn, pd.DataFrame([{
                "series_key": "a", "date": dt.date(2022, 1, 1), "value": 0.41, "period_type": "month",
                "source_url": None, "note": None}])[OBSERVATION_COLUMNS], None)
        scheduler.refresh_job(0.0, options)
    finally:
        for engine in scheduler._bound.values():
            engine.dispose()
        scheduler._bound.clear()
    with store.connect() as conn:
        run = read.latest_run(conn)
        refitted = read.run_series_frame(conn, run["id"]).query("results_run_id == @run['id']")["series_key"]
    assert run["trigger"] == "scheduler" and (run["series_refitted"], run["series_carried"]) == (1, 3)
    assert refitted.tolist() == ["a"]
