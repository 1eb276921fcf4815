"""Refresh on real SQLite files and PostgreSQL, with the drift/naive baselines (our real
models, fast); the kill test fits real Prophet in a subprocess. (Prophet's temporary
files are tested per fit in tests/forecast/test_prophet.py.)"""
from __future__ import annotations

import datetime as dt
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest
from sqlalchemy import select, update

from forecast.engine import EngineConfig
from jobs.errors import ConfigError
from jobs.refresh import refresh
from jobs.store import db, read, schema
from synthetic_store import monthly_logistic, seed_store

ROOT = Path(__file__).resolve().parent.parent
FAST = EngineConfig(specs=("naive", "drift"))
TARGETS = [
    {"id": "T-direct", "threshold": 0.7, "deadline": dt.date(2030, 12, 31), "series_key": "good", "measure": "direct"},
    {"id": "T-met", "threshold": 0.1, "deadline": dt.date(2020, 12, 31), "series_key": "good", "measure": "proxy"},
    {"id": "T-none", "threshold": 0.7, "deadline": dt.date(2030, 12, 31), "series_key": None, "measure": None},
    {"id": "T-bad", "threshold": 0.7, "deadline": dt.date(2030, 12, 31), "series_key": "bad", "measure": "direct"},
]


def series_set() -> dict[str, pd.DataFrame]:
    return {
        "good": monthly_logistic("2012-01-01", "2021-12-01", "2024-01-01", 0.5, 0.015, 1),
        "other": monthly_logistic("2014-01-01", "2021-12-01", "2022-06-01", 0.4, 0.015, 2),
        "short": monthly_logistic("2021-01-01", "2021-03-01", "2024-01-01", 0.5, 0.015, 3),
        # A stored value outside [0, 1] (an import mistake): this series must fail alone.
        "bad": pd.DataFrame({"date": pd.date_range("2015-01-01", periods=6, freq="MS"),
                             "value": [0.1, 0.2, 1.5, 0.3, 0.3, 0.3]}),
    }


@pytest.fixture
def store(any_db_url):
    seed_store(any_db_url, series_set(), TARGETS)
    engine = db.make_engine(any_db_url)
    yield engine
    engine.dispose()


def cli(*args, env=None, **kwargs):
    return subprocess.run([sys.executable, "-m", "jobs", *args], cwd=ROOT, capture_output=True,
                          text=True, timeout=600, env={**os.environ, **(env or {})}, **kwargs)


def test_a_failing_series_does_not_stop_the_run(store):
    outcome = refresh(store, FAST, workers=2, progress=False)
    assert outcome.statuses == {"good": "ok", "other": "ok", "short": "insufficient_data", "bad": "failed"}
    assert "not a share in [0, 1]" in outcome.failures["bad"]
    with store.connect() as conn:
        run = read.latest_run(conn)
        frames = read.run_frames(conn, run["id"])
    assert run["id"] == outcome.run_id and run["status"] == "complete" and run["finished_at"]
    assert run["code_version"] and len(run["input_hash"]) == 64
    rs = frames["run_series"].set_index("series_key")
    assert rs.loc["bad", "error"].startswith("InvalidHistory") and rs.loc["short", "n_obs"] == 3
    assert set(frames["forecasts"]["series"]) == {"good", "other"}
    status = frames["targets"].set_index("target_id")["status"]
    assert status["T-met"] == "met" and status["T-none"] == "no_data" and status["T-bad"] == "no_data"
    assert status["T-direct"] in ("on_track", "at_risk", "off_track")
    assert frames["backtest"].groupby("series_key")["chosen"].sum().to_dict() == {"good": 1, "other": 1}


def test_backtest_table_keeps_columns_aligned_and_says_what_a_skill_means(store):
    """`domshare backtest`: a long model name does not shift its row's numbers, a negative
    skill reads "worse than naive", and series too short to forecast are listed once, with
    how many values they have and need, after the forecast ones."""
    from jobs.cli.backtest import backtest_table

    refresh(store, FAST, workers=1, progress=False)
    with store.connect() as conn:
        frames = read.run_frames(conn, read.latest_run(conn)["id"])
    backtest, run_series = frames["backtest"].copy(), frames["run_series"].copy()
    backtest.loc[backtest["model"] == "drift", "model"] = "prophet_logistic+policies"  # the longest name
    run_series.loc[run_series["series_key"] == "good", ["skill", "skill_origins"]] = [-0.5, 1]
    lines = backtest_table(backtest, run_series).splitlines()
    header = next(line for line in lines if line.lstrip().startswith("model"))
    end = header.index("origins") + len("origins")
    rows = [line for line in lines if line.lstrip().startswith(("naive", "prophet_logistic+policies"))]
    assert rows and all(line[end - 1].isdigit() and line[end] == " " for line in rows), rows
    assert next(line for line in lines if line.startswith("good ")).endswith(
        "out-of-sample skill -0.50 (worse than naive) over 1 origin)")
    short = lines.index(next(line for line in lines if line.startswith("too few")))
    error = run_series.set_index("series_key").loc["short", "error"]
    assert lines[short + 1:] == [f"  short  ({error})"] and short > lines.index(header)
    run_series.loc[run_series["series_key"] == "short", "n_obs"] = 0  # as a series of bounds only
    assert backtest_table(backtest, run_series).splitlines()[-1] == "  short  (no exact or approximate value to fit)"


def test_unchanged_input_refits_nothing_unless_forced_and_changes_refit(store, any_db_url):
    first = refresh(store, FAST, workers=1, progress=False)
    second = refresh(store, FAST, workers=1, progress=False)
    assert second.refitted is False and second.run_id is None
    out = cli("refresh", "--db", any_db_url, "--models", "naive,drift", "--workers", "1")
    assert out.returncode == 0 and "nothing refitted" in out.stdout
    forced = refresh(store, FAST, workers=1, force=True, progress=False)
    assert forced.refitted and forced.run_id == first.run_id + 1
    with db.transaction(store) as conn:  # a revised observation changes the input hash
        conn.execute(update(schema.observations).where(schema.observations.c.series_key == "good")
                     .values(value=0.5))
    assert refresh(store, FAST, workers=1, progress=False).refitted
    assert refresh(store, EngineConfig(specs=("naive", "drift"), seed=9), workers=1, progress=False).refitted


def test_reproducible_for_a_seed(store):
    def numbers(run_id):
        with store.connect() as conn:
            return read.run_frames(conn, run_id)["forecasts"].drop(columns="run_id")

    a = refresh(store, FAST, workers=2, progress=False).run_id
    b = refresh(store, FAST, workers=1, force=True, progress=False).run_id  # in-process = pool
    c = refresh(store, EngineConfig(specs=("naive", "drift"), seed=1), workers=2, progress=False).run_id
    pd.testing.assert_frame_equal(numbers(a), numbers(b))
    assert not numbers(a)["upper_80"].equals(numbers(c)["upper_80"])


def test_refresh_of_some_series_carries_the_others_over(store):
    first = refresh(store, FAST, workers=1, progress=False).run_id
    second = refresh(store, FAST, series=["other"], workers=1, force=True, progress=False).run_id
    with store.connect() as conn:
        a, b = read.run_frames(conn, first), read.run_frames(conn, second)
    assert set(b["run_series"]["series_key"]) == set(a["run_series"]["series_key"])
    assert len(b["targets"]) == len(a["targets"]) == len(TARGETS)
    pd.testing.assert_frame_equal(a["forecasts"].query("series == 'good'").drop(columns="run_id").reset_index(drop=True),
                                  b["forecasts"].query("series == 'good'").drop(columns="run_id").reset_index(drop=True))


def test_two_series_refreshes_in_a_row_assess_every_target_once(store, any_db_url):
    # The first run holds only 'other': the no_data assessments of the targets on 'bad'
    # (never fitted) must not be carried into the next --series run and then written again.
    refresh(store, FAST, series=["other"], workers=1, progress=False)
    out = cli("refresh", "--db", any_db_url, "--models", "naive,drift", "--workers", "1", "--series", "good")
    assert out.returncode == 0, out.stdout + out.stderr
    full = refresh(store, FAST, workers=1, force=True, progress=False).run_id
    with store.connect() as conn:
        latest, full = read.run_frames(conn, full - 1), read.run_frames(conn, full)
    assert latest["run_series"]["series_key"].tolist() == ["good", "other"]
    assert latest["targets"]["target_id"].tolist() == sorted(t["id"] for t in TARGETS)
    keep = ["target_id", "series", "status", "basis", "probability_by_deadline"]
    pd.testing.assert_frame_equal(latest["targets"][keep], full["targets"][keep])


@pytest.mark.prophet
def test_killed_refresh_leaves_the_previous_run_current(tmp_path):
    url = f"sqlite:///{tmp_path / 'kill.db'}"
    # enough series that fits are still under way after the first batch is written
    more = {f"more{i}": monthly_logistic("2012-01-01", "2021-12-01", "2024-01-01", 0.5, 0.015, 10 + i)
            for i in range(8)}
    seed_store(url, {**series_set(), **more}, TARGETS)
    engine = db.make_engine(url)
    first = refresh(engine, FAST, workers=1, progress=False).run_id
    proc = subprocess.Popen(
        [sys.executable, "-m", "jobs", "refresh", "--db", url, "--force", "--workers", "1",
         "--models", "drift,prophet_logit", "--mcmc-samples", "100"],
        cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    try:
        deadline = time.time() + 120
        written = 0
        while time.time() < deadline and written == 0:  # kill once some results are written
            time.sleep(0.2)
            with engine.connect() as conn:
                written = len(conn.execute(select(schema.run_series.c.series_key)
                                           .where(schema.run_series.c.run_id == first + 1)).all())
        assert written, "the refresh wrote nothing in time"
    finally:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
    with engine.connect() as conn:
        assert read.latest_run(conn)["id"] == first
        assert read.get_run(conn, first + 1)["status"] == "running"
    out = cli("export", "--db", url, "--out", str(tmp_path / "out"))
    assert out.returncode == 0 and f"run {first} " in out.stdout
    after = refresh(engine, FAST, workers=1, progress=False)
    assert after.refitted is False and after.abandoned == (first + 1,)  # first run still current
    with engine.connect() as conn:
        assert read.get_run(conn, first + 1)["status"] == "abandoned"
    engine.dispose()


def test_bounds_are_evidence_not_fitted_and_the_new_columns_are_stored(tmp_path):
    url = f"sqlite:///{tmp_path / 'bounds.db'}"
    series = {"good": series_set()["good"],
              "survey": pd.DataFrame({"date": pd.to_datetime(["2019-12-01", "2021-12-01"]), "value": [0.2, 0.8]})}
    seed_store(url, series, [
        {"id": "T-bound", "threshold": 0.75, "deadline": dt.date(2021, 12, 31), "series_key": "survey", "measure": "direct"},
        {"id": "T-met", "threshold": 0.1, "deadline": dt.date(2020, 12, 31), "series_key": "good", "measure": "proxy"},
    ])
    engine = db.make_engine(url)
    with db.transaction(engine) as conn:  # ">80" in 2021-12 and "<20" in 2019-12: a series of bounds only
        obs = schema.observations
        conn.execute(update(obs).where(obs.c.series_key == "survey", obs.c.date == dt.date(2021, 12, 1))
                     .values(kind="lower_bound"))
        conn.execute(update(obs).where(obs.c.series_key == "survey", obs.c.date == dt.date(2019, 12, 1))
                     .values(kind="upper_bound"))
    outcome = refresh(engine, FAST, workers=1, progress=False)
    assert outcome.statuses == {"good": "ok", "survey": "insufficient_data"}
    with engine.connect() as conn:
        frames = read.run_frames(conn, outcome.run_id)
        assert len(read.history_frame(conn, ["survey"])) == 0  # bounds never reach a fit
    targets = frames["targets"].set_index("target_id")
    assert targets.loc["T-bound", "status"] == "met" and targets.loc["T-bound", "basis"] == "lower_bound"
    assert targets.loc["T-met", "basis"] == "observation"
    crossings = frames["crossings"].set_index(["series", "threshold"])
    survey = crossings.loc[("survey", 0.75)]
    assert survey["status"] == "crossed" and bool(survey["latest_above"]) and survey["probability_by_2030"] == 1.0
    good = crossings.loc[("good", 0.9)]
    assert good["status"] in ("projected", "not_within_horizon") and 0 <= good["probability_by_2030"] <= 1
    assert good["probability_by_2027"] <= good["probability_by_2030"]
    engine.dispose()


def test_the_registry_drives_models_and_their_help(tmp_path):
    from forecast import registry

    out = cli("refresh", "--help")
    assert out.returncode == 0
    text = " ".join(out.stdout.split())
    for name, entry in registry.MODELS.items():
        assert name in text and " ".join(entry.description.split()) in text
    url = f"sqlite:///{tmp_path / 'x.db'}"
    bad = cli("refresh", "--db", url, "--models", "naive,arima")
    assert bad.returncode == 2 and "'arima'" in bad.stderr and "ets_damped" in bad.stderr


@pytest.mark.parametrize("args,message", [
    (["--workers", "0"], "--workers 0"), (["--workers", "-2"], "--workers -2"),
    (["--mcmc-samples", "0"], "--mcmc-samples 0"), (["--horizon", "9999-12-31"], "at most 2100"),
    (["--horizon", "2020-13-01"], "not a date"), (["--as-of", "tomorrow"], "--as-of 'tomorrow' is not a date"),
])
def test_bad_refresh_flags_are_refused_before_any_run(args, message, tmp_path):
    url = f"sqlite:///{tmp_path / 'flags.db'}"
    seed_store(url, series_set(), TARGETS)
    out = cli("refresh", "--db", url, "--models", "naive,drift", *args)
    assert out.returncode == 2 and message in out.stderr
    engine = db.make_engine(url)
    with engine.connect() as conn:
        assert conn.execute(select(schema.forecast_runs.c.id)).first() is None
    engine.dispose()


def test_a_horizon_before_every_last_observation_starts_no_run(store):
    with pytest.raises(ConfigError, match="does not lie after the last observation"):
        refresh(store, EngineConfig(specs=("naive",), horizon="2000-01-01"), workers=1, progress=False)


def test_a_run_where_every_series_fails_ends_failed_and_the_previous_stays_current(tmp_path):
    url = f"sqlite:///{tmp_path / 'fail.db'}"
    seed_store(url, {"good": series_set()["good"]})
    engine = db.make_engine(url)
    first = refresh(engine, FAST, workers=1, progress=False)
    with db.transaction(engine) as conn:  # now the only series holds a value outside [0, 1]
        conn.execute(update(schema.observations).where(schema.observations.c.date == dt.date(2015, 1, 1))
                     .values(value=1.5))
    second = refresh(engine, FAST, workers=1, progress=False)
    assert second.complete is False and second.failures
    with engine.connect() as conn:
        assert read.latest_run(conn)["id"] == first.run_id
        assert read.get_run(conn, second.run_id)["status"] == "failed"
        assert "every series failed" in read.get_run(conn, second.run_id)["error"]
    engine.dispose()
