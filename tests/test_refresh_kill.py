"""A refresh killed with SIGKILL mid-run: the previous complete run stays current, its pool
workers end with it, and the next refresh marks the dead run 'abandoned' and completes.
Real `domshare refresh` processes on a real SQLite file and PostgreSQL; naive/drift only."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import select

from jobs.refresh import refresh
from jobs.store import db, read, schema
from synthetic_store import seed_store
from test_refresh import FAST, ROOT, cli
from test_refresh_lease import FAST_ARGS, many_series, run_rows, wait_for


def children(pid: int) -> set[int]:
    """Live processes whose parent is `pid` (Linux /proc; zombies count as ended)."""
    found = set()
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:  # ended while we looked
            continue
        if fields[0] != "Z" and int(fields[1]) == pid:
            found.add(int(stat.parent.name))
    return found


def alive(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def test_a_killed_refresh_is_abandoned_by_the_next_and_leaves_no_worker(any_db_url):
    # enough work (60 series, ETS at every origin: several seconds) that fits are still under
    # way after the first batch is written (results are written every 2 s or 25 series)
    seed_store(any_db_url, many_series(60))
    engine = db.make_engine(any_db_url)
    first = refresh(engine, FAST, workers=1, progress=False).run_id
    proc = subprocess.Popen([sys.executable, "-m", "jobs", "refresh", "--db", any_db_url, "--force",
                             "--models", "naive,drift,ets_damped", "--workers", "2"],
                            cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        def written():
            with engine.connect() as conn:
                return conn.execute(select(schema.run_series.c.series_key)
                                    .where(schema.run_series.c.run_id == first + 1)).first()
        wait_for(written, 120, "a series result of the second run")
        workers = children(proc.pid)
        assert len(workers) >= 2  # the pool's workers (and the spawn resource tracker)
        with engine.connect() as conn:
            assert read.latest_run(conn)["id"] == first  # a running run is never current
    finally:
        os.kill(proc.pid, signal.SIGKILL)  # the refresh process alone: its children see no signal
        proc.wait()
    wait_for(lambda: not any(alive(w) for w in workers), 15, "the end of every pool worker")
    assert run_rows(engine) == [(first, "complete"), (first + 1, "running")]
    with engine.connect() as conn:
        assert read.latest_run(conn)["id"] == first

    out = cli("refresh", "--db", any_db_url, *FAST_ARGS, "--force")  # the dead holder's lease is free at once
    assert out.returncode == 0, out.stdout + out.stderr
    assert f"run {first + 1} marked abandoned" in out.stdout and f"run {first + 2} complete" in out.stdout
    assert run_rows(engine) == [(first, "complete"), (first + 1, "abandoned"), (first + 2, "complete")]
    with engine.connect() as conn:
        assert read.latest_run(conn)["id"] == first + 2
        assert "killed or crashed" in read.get_run(conn, first + 1)["error"]
    engine.dispose()


@pytest.mark.prophet
def test_cmdstan_processes_end_with_a_killed_refresh(sqlite_url):
    seed_store(sqlite_url, many_series(4))
    proc = subprocess.Popen([sys.executable, "-m", "jobs", "refresh", "--db", sqlite_url, "--workers", "2",
                             "--models", "prophet_logit", "--mcmc-samples", "100"],
                            cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        def sampling():  # a worker's CmdStan child is running
            return {c for w in children(proc.pid) for c in children(w)}
        cmdstan = wait_for(sampling, 120, "a CmdStan process")
        workers = children(proc.pid)
    finally:
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
    wait_for(lambda: not any(alive(p) for p in workers | cmdstan), 15, "the end of every worker and CmdStan")
