"""Refits that reuse the model choice update the stored Prophet posterior with the new
observations by importance sampling (no new NUTS chain), on real SQLite files and
PostgreSQL with real Prophet fits; a revised value makes the posterior be sampled again."""
from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select, text, update

from forecast.engine import EngineConfig
from jobs.cli.status import collect_status
from jobs.refresh import refresh
from jobs.store import db, read, schema
from synthetic_store import monthly_logistic, seed_store, store_at_revision
from test_choice_reuse import new_months, row
from test_refresh import cli

pytestmark = pytest.mark.prophet
PROPHET = EngineConfig(specs=("naive", "drift", "prophet_logistic"), as_of="2023-01-01", mcmc_samples=120,
                       n_paths=200, backtest_paths=100)


def posterior_runs(engine, key: str) -> list[int]:
    p = schema.posteriors
    with engine.connect() as conn:
        return sorted(conn.execute(select(p.c.run_id).where(p.c.series_key == key)).scalars())


def test_reused_choices_update_the_stored_posterior_until_a_value_it_saw_is_revised(any_db_url):
    seed_store(any_db_url, {"a": monthly_logistic("2013-01-01", "2021-12-01", "2023-06-01", 0.6, 0.01, 1)}, [])
    engine = db.make_engine(any_db_url)
    first = refresh(engine, PROPHET, workers=1, progress=False)
    assert row(engine, first.run_id, "a")["model"] == "prophet_logistic"
    assert posterior_runs(engine, "a") == [first.run_id]  # the NUTS fit's draws, kept

    new_months(engine, "a", "2022-01-01", 2, value=0.3)
    second = refresh(engine, PROPHET, workers=1, progress=False)
    assert (second.choice_reused_series, second.posterior_updated_series) == (1, 1)
    assert "posterior of prophet_logistic updated with 2 new observation(s) by importance sampling" \
        in row(engine, second.run_id, "a")["error"]
    assert posterior_runs(engine, "a") == [first.run_id]  # an update stores nothing new
    assert collect_status(engine)["latest_run"]["series_posterior_updated"] == 1

    with db.transaction(engine) as conn:  # a source revises a value the posterior saw
        o = schema.observations
        conn.execute(update(o).where(o.c.series_key == "a", o.c.date == dt.date(2020, 1, 1))
                     .values(value=o.c.value + 0.02))
    third = refresh(engine, PROPHET, workers=1, progress=False)
    assert (third.choice_reused_series, third.posterior_updated_series) == (1, 0)
    assert "posterior sampled again: prophet_logistic: the data its stored posterior was fitted on have changed" \
        in row(engine, third.run_id, "a")["error"]
    assert posterior_runs(engine, "a") == [first.run_id, third.run_id]

    new_months(engine, "a", "2022-03-01", 1, value=0.3)
    fourth = refresh(engine, PROPHET, workers=1, progress=False)  # updates the newest posterior
    assert fourth.posterior_updated_series == 1
    assert "updated with 1 new observation(s)" in row(engine, fourth.run_id, "a")["error"]
    with engine.connect() as conn:
        assert read.get_run(conn, fourth.run_id)["series_posterior_updated"] == 1
    engine.dispose()


def test_0008_upgrades_a_store_of_schema_0007(any_db_url):
    engine = store_at_revision(any_db_url, "0007")
    with engine.begin() as conn:
        conn.execute(text("INSERT INTO forecast_runs (id, started_at, status) VALUES (1, :t, 'complete')"),
                     {"t": dt.datetime(2026, 11, 1)})
    db.upgrade(engine)
    assert db.current_revision(engine) == db.head_revision()
    with engine.connect() as conn:
        assert conn.execute(select(schema.forecast_runs.c.series_posterior_updated)).scalar_one() is None
        assert read.stored_posteriors(conn, {"a": 1}) == {}
    engine.dispose()


def test_the_command_line_can_sample_again_instead(sqlite_url):
    seed_store(sqlite_url, {"a": monthly_logistic("2013-01-01", "2021-12-01", "2023-06-01", 0.6, 0.01, 1)}, [])
    engine = db.make_engine(sqlite_url)
    args = ["refresh", "--db", sqlite_url, "--models", "naive,drift,prophet_logistic", "--mcmc-samples", "60",
            "--workers", "1", "--as-of", "2023-01-01"]
    assert cli(*args).returncode == 0
    new_months(engine, "a", "2022-01-01", 1, value=0.3)
    out = cli(*args, "--no-posterior-updates")
    assert "1 with their stored model choice, 0 of them with their posterior updated" in out.stdout, out.stdout + out.stderr
    new_months(engine, "a", "2022-02-01", 1, value=0.3)
    out = cli(*args)
    assert "1 with their stored model choice, 1 of them with their posterior updated" in out.stdout, out.stdout + out.stderr
    engine.dispose()
