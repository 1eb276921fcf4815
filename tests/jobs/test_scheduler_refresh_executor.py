"""The real `domshare scheduler` process runs refreshes on an executor of their own: a pull
starts and completes while a long refresh runs (a store of 60 synthetic series, naive/drift
in one worker, about 10-20 s on 2 cores), and a refresh that finds the lease held by
another process is recorded `skipped`, then runs once that holder is gone."""
from __future__ import annotations

import socket
import subprocess
import sys

import pytest

from jobs import leases, scheduler
from jobs.refresh import LEASE
from jobs.store import schema
from local_server import Reply, catalogue_store
from synthetic_store import monthly_logistic, seed_store
from test_scheduler import CSV, RSS, rows, start, stop, wait_for, write_sources

pytestmark = pytest.mark.slow


def test_a_pull_completes_while_a_long_refresh_runs(tmp_path, server, sqlite_url):
    server.set("/sc.csv", Reply(CSV))
    server.set("/feed", Reply(RSS))
    engine = catalogue_store(sqlite_url)
    seed_store(sqlite_url, {f"syn{i:02d}": monthly_logistic("2010-01-01", "2021-12-01", "2022-01-01", 0.5, 0.015, i)
                            for i in range(60)})
    sources = write_sources(tmp_path / "sources.toml", server, pull_every="interval:1s",
                            export_every="interval:1h", hold=0.5)
    log = tmp_path / "scheduler.log"
    process = start(sqlite_url, sources, tmp_path / "exports", log)
    try:
        def refreshed() -> bool:
            return any(r["job"] == scheduler.REFRESH_AFTER_PULL for r in rows(engine, schema.job_runs))
        wait_for(refreshed, 240, "the refresh after the first pull", [log])
    finally:
        code = stop(process)
    assert code == 0, log.read_text()[-3000:]
    every = rows(engine, schema.job_runs)
    refresh = next(r for r in every if r["job"] == scheduler.REFRESH_AFTER_PULL)
    assert refresh["outcome"] == "ok", refresh
    during = [r for r in every if r["job"] == "pull:sc" and r["outcome"] == "ok"
              and refresh["started_at"] < r["started_at"] and r["finished_at"] < refresh["finished_at"]]
    assert during, f"no pull ran inside the refresh {refresh['started_at']} .. {refresh['finished_at']}: {every}"
    engine.dispose()


def test_a_refresh_that_finds_the_lease_held_is_recorded_skipped(tmp_path, server, sqlite_url):
    server.set("/sc.csv", Reply(CSV))
    server.set("/feed", Reply(RSS))
    engine = catalogue_store(sqlite_url)
    sources = write_sources(tmp_path / "sources.toml", server, pull_every="interval:1h",
                            export_every="interval:1h", hold=0.5, refresh_every="interval:1s")
    holder = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(120)"])  # a live `domshare refresh`
    log = tmp_path / "scheduler.log"
    process = None
    try:
        assert leases.acquire(engine, LEASE, f"{socket.gethostname()}:{holder.pid}", ttl_seconds=120)
        process = start(sqlite_url, sources, tmp_path / "exports", log)

        def outcomes() -> list[str]:
            return [r["outcome"] for r in rows(engine, schema.job_runs) if r["job"] == "refresh"]
        wait_for(lambda: "skipped" in outcomes(), 60, "a skipped refresh", [log])
        holder.kill()
        holder.wait()
        wait_for(lambda: "ok" in outcomes(), 60, "a refresh once the holder died", [log])
    finally:
        holder.kill()
        if process is not None:
            assert stop(process) == 0, log.read_text()[-3000:]
    skipped = next(r for r in rows(engine, schema.job_runs) if r["outcome"] == "skipped")
    assert skipped["job"] == "refresh" and skipped["error"] == scheduler.LEASE_HELD
    engine.dispose()


def test_two_threads_of_one_process_never_both_hold_a_lease(sqlite_url):
    """The scheduler's executors are threads of one process: each is a holder of its own."""
    from concurrent.futures import ThreadPoolExecutor

    engine = catalogue_store(sqlite_url)
    with ThreadPoolExecutor(1) as first, ThreadPoolExecutor(1) as second:
        def take() -> bool:
            return leases.acquire(engine, LEASE, leases.thread_owner(), ttl_seconds=60)
        assert first.submit(take).result()
        assert not second.submit(take).result()
        assert first.submit(take).result()  # its own (e.g. kept for the hold): taken again
        assert not take()  # nor the main thread, host:pid
        owner = first.submit(leases.thread_owner).result()
        assert leases.holder(engine, LEASE)[0] == owner and owner.startswith(leases.process_owner() + ":")
    engine.dispose()
