"""The real `domshare scheduler` process against a real SQLite file and the local server:
pulls, a refresh after new data, an export; two schedulers on one database; SIGTERM."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from sqlalchemy import select

from local_server import FIXTURES, RAW, ROOT, Reply, catalogue_store
from jobs import cli
from jobs.store import schema

pytestmark = pytest.mark.slow
CSV = (RAW / "statcounter" / "vendor-CN-monthly-201003-202404.csv").read_bytes()
RSS = (FIXTURES / "feeds" / "policies_rss_v1.xml").read_bytes()


def write_sources(path: Path, server, *, pull_every="interval:2s", export_every="interval:3s",
                  hold=1.0, timeout=5.0, refresh_every="interval:1h") -> Path:
    path.write_text(f"""
[scheduler]
refresh_schedule = "{refresh_every}"
export_schedule = "{export_every}"
misfire_grace_time = 30
lease_hold_seconds = {hold}
[scheduler.refresh_options]
specs = ["naive", "drift"]
workers = 1

[[sources]]
name = "sc"
kind = "statcounter"
url = "{server.url}/sc.csv"
schedule = "{pull_every}"
[sources.http]
attempts = 1
timeout = {timeout}

[[sources]]
name = "feed"
kind = "policy_feed"
url = "{server.url}/feed"
schedule = "{pull_every}"
[sources.http]
attempts = 1
""", encoding="utf-8")
    return path


def start(db_url: str, sources: Path, out: Path, log: Path) -> subprocess.Popen:
    env = {**os.environ, "DOMSHARE_WORKERS": "1", "PYTHONUNBUFFERED": "1"}
    handle = open(log, "w")
    return subprocess.Popen([sys.executable, "-m", "jobs", "-v", "scheduler", "--db", db_url,
                             "--sources", str(sources), "--out", str(out)],
                            cwd=ROOT, env=env, stdout=handle, stderr=subprocess.STDOUT)


def rows(engine, table) -> list[dict]:
    with engine.connect() as conn:
        return [dict(r) for r in conn.execute(select(table).order_by(table.c.id)).mappings()]


def wait_for(condition, timeout: float, what: str, logs=()):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.3)
    detail = "\n".join(Path(p).read_text()[-3000:] for p in logs)
    pytest.fail(f"timed out waiting for {what}\n{detail}")


def stop(process: subprocess.Popen, timeout: float = 60) -> int:
    process.send_signal(signal.SIGTERM)
    try:
        return process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        process.kill()  # never leave a scheduler behind a failed test
        process.wait()
        raise


def test_scheduler_pulls_refreshes_exports_and_lists_its_jobs(tmp_path, server, capsys, any_db_url):
    server.set("/sc.csv", Reply(CSV))
    server.set("/feed", Reply(RSS))
    db_url = any_db_url
    engine = catalogue_store(db_url)
    sources = write_sources(tmp_path / "sources.toml", server)
    out, log = tmp_path / "exports", tmp_path / "scheduler.log"
    process = start(db_url, sources, out, log)
    try:
        def done() -> bool:
            runs = {(r["job"], r["outcome"]) for r in rows(engine, schema.job_runs)}
            return {("pull:sc", "ok"), ("pull:feed", "ok"), ("refresh:after-pull", "ok"),
                    ("export", "ok")} <= runs and (out / "latest" / "forecasts.csv").exists()
        wait_for(done, 90, "pulls, a refresh and an export", [log])
        wait_for(lambda: len([p for p in rows(engine, schema.pulls) if p["source"] == "sc"]) >= 2,
                 30, "a second pull of sc", [log])
    finally:
        code = stop(process)
    assert code == 0, log.read_text()[-3000:]

    pulls = rows(engine, schema.pulls)
    sc = [p["status"] for p in pulls if p["source"] == "sc"]
    assert sc[0] == "ok" and set(sc[1:]) == {"unchanged"}  # same payload: no-op afterwards
    with engine.connect() as conn:
        assert conn.execute(select(schema.observations.c.id)).all().__len__() == 169
        run = conn.execute(select(schema.forecast_runs)).mappings().first()
    assert run["status"] == "complete" and run["trigger"] == "scheduler"
    latest = out / "latest"
    assert latest.is_symlink() and (latest / "observations.csv").read_text().count("\n") > 169
    dated = [p for p in out.iterdir() if p.name[:4].isdigit()]
    assert len(dated) == 1 and (dated[0] / "forecasts.csv").read_bytes() == (latest / "forecasts.csv").read_bytes()
    assert "stopping after the running job" in log.read_text()
    every = rows(engine, schema.job_runs)
    assert all(r["finished_at"] is not None and r["scheduler"] for r in every)

    # `domshare jobs` sees the persisted jobs, their next runs and last outcomes
    assert cli.main(["jobs", "--db", db_url, "--sources", str(sources), "--json"]) == 0
    import json

    listed = {j["job"]: j for j in json.loads(capsys.readouterr().out)}
    assert {"pull:sc", "pull:feed", "refresh", "export"} <= set(listed)
    assert listed["pull:sc"]["scheduled"] and listed["pull:sc"]["next_run_time"]
    assert listed["pull:sc"]["last_outcome"] == "ok" and listed["pull:sc"]["last_pull"]["status"] == "unchanged"
    assert listed["export"]["last_outcome"] == "ok"


def test_two_schedulers_on_one_database_run_each_job_once_per_slot(tmp_path, server):
    server.set("/sc.csv", Reply(CSV))
    server.set("/feed", Reply(RSS))
    db_url = f"sqlite:///{tmp_path / 'store.db'}"
    engine = catalogue_store(db_url)
    sources = write_sources(tmp_path / "sources.toml", server, export_every="interval:1h", hold=1.0)
    logs = [tmp_path / "a.log", tmp_path / "b.log"]
    first = start(db_url, sources, tmp_path / "exports", logs[0])
    second = start(db_url, sources, tmp_path / "exports", logs[1])
    try:
        wait_for(lambda: len([r for r in rows(engine, schema.job_runs) if r["job"] == "pull:sc"]) >= 8,
                 60, "eight runs of pull:sc", logs)
    finally:
        codes = [stop(first), stop(second)]
    assert codes == [0, 0]
    runs = rows(engine, schema.job_runs)
    assert len({r["scheduler"] for r in runs}) == 2, "both schedulers took part"
    for job in ("pull:sc", "pull:feed"):
        done = sorted(r["started_at"] for r in runs if r["job"] == job and r["outcome"] == "ok")
        skipped = [r for r in runs if r["job"] == job and r["outcome"] == "skipped"]
        assert len(done) >= 3 and skipped, f"{job}: {len(done)} runs, {len(skipped)} skipped"
        gaps = [(b - a).total_seconds() for a, b in zip(done, done[1:])]
        assert min(gaps) > 1.0, f"{job} ran twice in one slot: gaps {gaps}"
        pulls = [p for p in rows(engine, schema.pulls) if p["source"] == job.split(":")[1]]
        assert len(pulls) == len(done)  # every executed run is one pull, skips pull nothing
    # the refresh queued after new data ran exactly once, by one of the two
    refreshes = [r for r in runs if r["job"] == "refresh:after-pull" and r["outcome"] == "ok"]
    assert len(refreshes) == 1


def test_sigterm_stops_after_the_running_job(tmp_path, server):
    server.set("/sc.csv", Reply(CSV, delay=4.0))
    server.set("/feed", Reply(RSS))
    db_url = f"sqlite:///{tmp_path / 'store.db'}"
    engine = catalogue_store(db_url)
    sources = write_sources(tmp_path / "sources.toml", server, pull_every="interval:1s",
                            export_every="interval:1h", timeout=10.0)
    log = tmp_path / "scheduler.log"
    process = start(db_url, sources, tmp_path / "exports", log)
    try:
        wait_for(lambda: server.hits("/sc.csv"), 30, "the slow pull to start", [log])
    finally:
        sent = time.monotonic()
        code = stop(process)
    waited = time.monotonic() - sent
    assert code == 0, log.read_text()[-3000:]
    assert waited > 1.0, "it did not wait for the running pull"
    sc = [p for p in rows(engine, schema.pulls) if p["source"] == "sc"]
    assert [p["status"] for p in sc] == ["ok"] and sc[0]["finished_at"] is not None
    outcomes = [r["outcome"] for r in rows(engine, schema.job_runs) if r["job"] == "pull:sc"]
    assert [o for o in outcomes if o != "skipped"] == ["ok"]  # 'skipped': still running at 1 s
    assert "scheduler stopped" in log.read_text()


def test_runs_that_fell_due_while_down_run_late_once_or_are_recorded_missed(tmp_path, server):
    import datetime as dt
    import pickle

    from sqlalchemy import MetaData, Table, update

    server.set("/sc.csv", Reply(CSV))
    server.set("/feed", Reply(RSS))
    db_url = f"sqlite:///{tmp_path / 'store.db'}"
    engine = catalogue_store(db_url)
    sources = write_sources(tmp_path / "sources.toml", server, pull_every="interval:1h",
                            export_every="interval:1h")  # misfire_grace_time = 30 s
    logs = [tmp_path / "first.log", tmp_path / "second.log"]

    def stored_jobs() -> int:
        with engine.connect() as conn:
            if not engine.dialect.has_table(conn, "apscheduler_jobs"):
                return 0
            return len(conn.exec_driver_sql("SELECT id FROM apscheduler_jobs").all())

    first = start(db_url, sources, tmp_path / "exports", logs[0])
    try:
        wait_for(lambda: stored_jobs() == 4, 30, "the jobs to be stored", logs[:1])
    finally:
        assert stop(first) == 0
    # The clock moved on while no scheduler ran: pull:sc fell due 10 s ago (within the
    # grace time: it runs once, late), pull:feed two minutes ago (past it: recorded missed).
    jobs_table = Table("apscheduler_jobs", MetaData(), autoload_with=engine)
    with engine.begin() as conn:
        for job, ago in (("pull:sc", 10), ("pull:feed", 120)):
            blob = conn.execute(select(jobs_table.c.job_state).where(jobs_table.c.id == job)).scalar_one()
            state = pickle.loads(blob)  # APScheduler keeps the time in the row and in the pickled job
            state["next_run_time"] = dt.datetime.now(dt.timezone.utc) - dt.timedelta(seconds=ago)
            conn.execute(update(jobs_table).where(jobs_table.c.id == job).values(
                next_run_time=state["next_run_time"].timestamp(), job_state=pickle.dumps(state)))
    second = start(db_url, sources, tmp_path / "exports", logs[1])
    try:
        wait_for(lambda: {("pull:sc", "ok"), ("pull:feed", "missed")}
                 <= {(r["job"], r["outcome"]) for r in rows(engine, schema.job_runs)}, 30,
                 "a late run and a missed one", logs)
    finally:
        assert stop(second) == 0
    runs = [(r["job"], r["outcome"]) for r in rows(engine, schema.job_runs) if r["job"].startswith("pull:")]
    assert sorted(runs) == [("pull:feed", "missed"), ("pull:sc", "ok")]
    assert [p["source"] for p in rows(engine, schema.pulls)] == ["sc"]
    assert "pull:feed missed its run" in logs[1].read_text()


def test_a_scheduled_pull_skips_while_a_manual_pull_holds_the_source(tmp_path, server):
    """The scheduler's pull job and `domshare pull` take the same lease, pull:<name>."""
    from jobs import leases, scheduler
    from jobs.pull import lease_name

    db_url = f"sqlite:///{tmp_path / 'store.db'}"
    engine = catalogue_store(db_url)
    sources = write_sources(tmp_path / "sources.toml", server)
    server.set("/sc.csv", Reply(CSV))
    manual = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])  # a live holder
    try:
        assert leases.acquire(engine, lease_name("sc"), f"{leases.socket.gethostname()}:{manual.pid}", 60)
        scheduler.bind(db_url)
        outcome = scheduler.pull_job("sc", str(sources), [0.0, {}], 0.0)
        assert (outcome["outcome"], outcome["error"]) == ("skipped", scheduler.LEASE_HELD)
        assert server.requests == []
    finally:
        manual.kill()
        manual.wait()
    outcome = scheduler.pull_job("sc", str(sources), [0.0, {}], 0.0)
    assert (outcome["outcome"], outcome["pull_status"]) == ("ok", "ok")  # the killed holder is taken over
    engine.dispose()


def test_the_job_table_holds_no_database_url_or_password(any_db_url, tmp_path, server):
    """APScheduler pickles job arguments into apscheduler_jobs: no URL, so no password, among them."""
    import threading

    from sqlalchemy.engine import make_url

    from jobs import scheduler
    from jobs.sources.config import load_config

    url = any_db_url
    if url.startswith("postgresql"):  # the test server trusts local connections: any password works
        url = make_url(url).set(password="hunter2-secret").render_as_string(hide_password=False)
    engine = catalogue_store(url)
    sources = write_sources(tmp_path / "sources.toml", server, pull_every="interval:1h", export_every="interval:1h")
    running = scheduler.build_scheduler(load_config(sources), url, tmp_path / "exports")
    thread = threading.Thread(target=running.start, kwargs={"paused": True}, daemon=True)
    thread.start()
    def stored() -> int:
        with engine.connect() as conn:
            return engine.dialect.has_table(conn, "apscheduler_jobs") and len(
                conn.exec_driver_sql("SELECT id FROM apscheduler_jobs").all())

    try:
        wait_for(lambda: stored() == 4, 30, "the jobs to be stored")
    finally:
        running.shutdown(wait=True)
        thread.join(10)
    with engine.connect() as conn:
        states = [bytes(state) for (state,) in conn.exec_driver_sql("SELECT job_state FROM apscheduler_jobs")]
    engine.dispose()
    database = make_url(url).database.encode()
    assert len(states) == 4
    for state in states:
        assert b"hunter2" not in state and database not in state and b"sqlite:" not in state \
            and b"postgresql" not in state
