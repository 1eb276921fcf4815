"""One refresh at a time: the refresh lease, its heartbeat, and the scheduler's refresh job
taking the same lease. Real SQLite files and PostgreSQL, real `domshare refresh` processes
(paused with SIGSTOP so the race is deterministic), the naive/drift baselines only."""
from __future__ import annotations

import os
import signal
import socket
import sqlite3
import subprocess
import sys
import time

import pytest
from sqlalchemy import select, update

from jobs import leases, scheduler
from jobs.errors import AlreadyRunning
from jobs.refresh import LEASE, refresh_lease
from jobs.store import db, read, schema
from synthetic_store import monthly_logistic, seed_store
from test_refresh import ROOT, cli

FAST_ARGS = ["--models", "naive,drift", "--workers", "1"]


def many_series(n: int) -> dict:
    return {f"s{i:02d}": monthly_logistic("2010-01-01", "2021-12-01", "2022-01-01", 0.5, 0.015, i)
            for i in range(n)}


def wait_for(condition, seconds: float, what: str):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.05)
    pytest.fail(f"{what} did not happen within {seconds}s")


def pause_outside_writes(proc: subprocess.Popen, url: str) -> None:
    """SIGSTOP `proc`, but not inside a SQLite write transaction (that would lock every other
    writer out). On PostgreSQL its writes lock only its own new rows."""
    for _ in range(100):
        os.kill(proc.pid, signal.SIGSTOP)
        if not url.startswith("sqlite"):
            return
        probe = sqlite3.connect(url.removeprefix("sqlite:///"), timeout=0.1)
        try:
            probe.execute("BEGIN IMMEDIATE")
            probe.rollback()
            return
        except sqlite3.OperationalError:  # stopped mid-write: let it finish that one
            os.kill(proc.pid, signal.SIGCONT)
            time.sleep(0.02)
        finally:
            probe.close()
    pytest.fail("could not pause the refresh outside a write")


def run_rows(engine) -> list[tuple]:
    with engine.connect() as conn:
        return [tuple(r) for r in conn.execute(select(schema.forecast_runs.c.id, schema.forecast_runs.c.status)
                                               .order_by(schema.forecast_runs.c.id))]


def test_a_second_refresh_while_one_runs_exits_6_naming_the_holder_and_changes_nothing(any_db_url):
    seed_store(any_db_url, many_series(12))
    engine = db.make_engine(any_db_url)
    first = subprocess.Popen([sys.executable, "-m", "jobs", "refresh", "--db", any_db_url, *FAST_ARGS],
                             cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        def running():
            with engine.connect() as conn:
                return read.get_run(conn, 1)
        run = wait_for(running, 60, "the first refresh's run")
        pause_outside_writes(first, any_db_url)  # alive but still: it holds the lease as long as we like
        before = run_rows(engine)
        assert before == [(1, "running")]
        second = cli("refresh", "--db", any_db_url, *FAST_ARGS, "--force")
        assert second.returncode == AlreadyRunning.exit_code, second.stderr
        since = f"{run['started_at']:%Y-%m-%d %H:%M:%S}"
        assert (f"a refresh is already running (held by {socket.gethostname()}:{first.pid} "
                f"since {since} UTC, run 1); nothing was done") in second.stderr
        assert run_rows(engine) == before
        assert leases.holder(engine, LEASE)[0] == f"{socket.gethostname()}:{first.pid}"
    finally:
        os.kill(first.pid, signal.SIGCONT)
        out, err = first.communicate(timeout=300)
    assert first.returncode == 0, out + err
    assert run_rows(engine) == [(1, "complete")] and leases.holder(engine, LEASE) is None
    engine.dispose()


def test_the_heartbeat_renews_the_lease_while_the_block_runs_and_frees_it_after(sqlite_url):
    seed_store(sqlite_url, {})
    engine = db.make_engine(sqlite_url)
    with refresh_lease(engine, ttl_seconds=0.4) as beat:
        first_expiry = leases.holder(engine, LEASE)[1]
        for _ in range(6):  # 1.5 s: almost four lifetimes of an unrenewed lease
            time.sleep(0.25)
            assert not leases.acquire(engine, LEASE, "elsewhere:1", ttl_seconds=60)
        assert leases.holder(engine, LEASE)[1] > first_expiry
        beat.check()  # still ours
    assert leases.holder(engine, LEASE) is None
    engine.dispose()


def test_a_lease_taken_over_stops_the_run_at_the_next_check(sqlite_url):
    seed_store(sqlite_url, {})
    engine = db.make_engine(sqlite_url)
    with pytest.raises(AlreadyRunning, match="taken over by another process"):
        with refresh_lease(engine, ttl_seconds=0.4) as beat:
            with db.transaction(engine) as conn:  # what another process does once ours expired
                conn.execute(update(schema.leases).where(schema.leases.c.name == LEASE).values(owner="elsewhere:1"))
            wait_for(lambda: beat.lost, 5, "the heartbeat noticing")
            beat.check()
    assert leases.holder(engine, LEASE)[0] == "elsewhere:1"  # not ours to release
    engine.dispose()


def test_the_scheduler_refresh_job_takes_the_same_lease(sqlite_url):
    seed_store(sqlite_url, many_series(2))
    engine = db.make_engine(sqlite_url)
    options = {"specs": ["naive", "drift"], "workers": 1}
    live = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        assert leases.acquire(engine, LEASE, f"{socket.gethostname()}:{live.pid}", ttl_seconds=60)
        scheduler.bind(sqlite_url)  # the database the scheduler process runs on (no URL in job args)
        skipped = scheduler.refresh_job(0.0, options)
        assert skipped["outcome"] == "skipped" and run_rows(engine) == []
    finally:
        live.kill()
        live.wait()
    done = scheduler.refresh_job(30.0, options)  # the dead holder is taken over
    assert done["outcome"] == "ok" and run_rows(engine) == [(1, "complete")]
    assert leases.holder(engine, LEASE)[0] == leases.process_owner()  # kept for the hold, as every scheduled job's
    assert not leases.acquire(engine, LEASE, "elsewhere:1", ttl_seconds=60)
    engine.dispose()
