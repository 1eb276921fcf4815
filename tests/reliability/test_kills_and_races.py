"""`domshare pull` killed with SIGKILL at several points, and two pulls of one source racing.

Each case runs the real command in its own process against a real SQLite store and the
loopback server. After a kill: no half-written pull (either a complete `ok` pull with all
its observations, or none of them), the lease of the killed process does not block the
next pull, and the next pull succeeds. A race: exactly one pull runs, the other reports
"already running" (exit 6) and changes nothing.
"""
from __future__ import annotations

import datetime as dt
import os
import signal
import subprocess
import sys
import time

import pytest
from sqlalchemy import func, select

from local_server import RAW, ROOT, Reply, catalogue_store
from jobs.pull import lease_name
from jobs.sources import statcounter
from jobs.store import schema

pytestmark = pytest.mark.slow
PAYLOAD = (RAW / "statcounter" / "vendor-CN-monthly-201003-202404.csv").read_bytes()
KEY = statcounter.SERIES_KEY
MONTHS = 169  # the months with data in PAYLOAD


@pytest.fixture
def engine(tmp_path):
    engine = catalogue_store(f"sqlite:///{tmp_path / 'store.db'}")
    yield engine
    engine.dispose()


@pytest.fixture
def any_engine(any_db_url):
    """SQLite, and PostgreSQL when DOMSHARE_TEST_PG_URL is set (the race and one kill point)."""
    engine = catalogue_store(any_db_url)
    yield engine
    engine.dispose()


def sources_file(tmp_path, server) -> str:
    path = tmp_path / "sources.toml"
    path.write_text(f'[[sources]]\nname = "sc"\nkind = "statcounter"\nurl = "{server.url}/sc.csv"\n'
                    'schedule = "interval:1h"\n[sources.http]\nattempts = 1\ntimeout = 30\n')
    return str(path)


def start_pull(engine, sources: str) -> subprocess.Popen:
    url = engine.url.render_as_string(hide_password=False)
    return subprocess.Popen([sys.executable, "-m", "jobs", "pull", "--db", url, "--sources", sources, "sc"],
                            cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                            env={**os.environ, "PYTHONUNBUFFERED": "1"})


def count(engine, table) -> int:
    with engine.connect() as conn:
        return conn.execute(select(func.count()).select_from(table)).scalar_one()


def wait_for(condition, timeout: float = 30.0, step: float = 0.005) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(step)


def kill(process: subprocess.Popen) -> None:
    process.send_signal(signal.SIGKILL)
    process.wait(timeout=10)


def assert_whole_or_nothing(engine) -> str:
    """Every pull row is finished, and the observations are all or none of the payload's."""
    with engine.connect() as conn:
        pulls = conn.execute(select(schema.pulls)).mappings().all()
    stored = count(engine, schema.observations)
    assert all(p["finished_at"] is not None for p in pulls)
    if any(p["status"] == "ok" for p in pulls):
        assert stored == MONTHS
        return "completed before the kill"
    assert stored == 0 and count(engine, schema.observation_revisions) == 0
    return "nothing written"


def report(point: str, outcome: str) -> None:
    print(f"\nkill {point}: {outcome}")  # shown with -s: the figures of README's reliability section


def assert_next_pull_succeeds(engine, sources: str, server) -> None:
    server.set("/sc.csv", Reply(PAYLOAD))
    again = start_pull(engine, sources)
    output, _ = again.communicate(timeout=60)
    assert again.returncode == 0, output
    assert count(engine, schema.observations) == MONTHS
    with engine.connect() as conn:
        assert conn.execute(select(schema.leases).where(schema.leases.c.name == lease_name("sc"))).first() is None


def test_killed_while_waiting_for_the_server(engine, server, tmp_path):
    server.set("/sc.csv", Reply(PAYLOAD, delay=20))
    sources = sources_file(tmp_path, server)
    pull = start_pull(engine, sources)
    wait_for(lambda: server.hits("/sc.csv"))
    kill(pull)
    assert count(engine, schema.snapshots) == 0 and count(engine, schema.pulls) == 0
    assert assert_whole_or_nothing(engine) == "nothing written"
    with engine.connect() as conn:  # the dead process still "holds" the lease ...
        assert conn.execute(select(schema.leases.c.owner)).scalar_one().endswith(f":{pull.pid}")
    assert_next_pull_succeeds(engine, sources, server)  # ... and the next pull takes it over


def test_killed_halfway_through_the_body(engine, server, tmp_path):
    server.set("/sc.csv", Reply(PAYLOAD, stall_after=len(PAYLOAD) // 2, stall=20))
    sources = sources_file(tmp_path, server)
    pull = start_pull(engine, sources)
    wait_for(lambda: server.hits("/sc.csv"))
    time.sleep(0.3)  # the first half is on its way
    kill(pull)
    assert count(engine, schema.snapshots) == 0
    assert assert_whole_or_nothing(engine) == "nothing written"
    assert_next_pull_succeeds(engine, sources, server)


def test_killed_right_after_the_snapshot_is_kept(any_engine, server, tmp_path):
    engine = any_engine
    server.set("/sc.csv", Reply(PAYLOAD))
    sources = sources_file(tmp_path, server)
    pull = start_pull(engine, sources)
    wait_for(lambda: count(engine, schema.snapshots) == 1, step=0.002)
    kill(pull)
    assert count(engine, schema.snapshots) == 1  # the payload is kept, whole
    with engine.connect() as conn:
        assert conn.execute(select(schema.snapshots.c.content)).scalar_one() == PAYLOAD
    report("after the snapshot", assert_whole_or_nothing(engine))
    assert_next_pull_succeeds(engine, sources, server)


@pytest.mark.parametrize("after", [1.0, 2.0, 3.0])
def test_killed_at_a_moment_in_its_life(engine, server, tmp_path, after):
    server.set("/sc.csv", Reply(PAYLOAD))
    sources = sources_file(tmp_path, server)
    pull = start_pull(engine, sources)
    time.sleep(after)
    kill(pull)
    snapshots = count(engine, schema.snapshots)
    report(f"{after:.1f} s after the start ({snapshots} snapshot)", assert_whole_or_nothing(engine))
    assert_next_pull_succeeds(engine, sources, server)


def test_two_pulls_of_one_source_at_once_run_once(any_engine, server, tmp_path):
    engine = any_engine
    server.set("/sc.csv", Reply(PAYLOAD, delay=4))  # the winner is still fetching when the loser starts
    sources = sources_file(tmp_path, server)
    started = dt.datetime.now()
    first, second = start_pull(engine, sources), start_pull(engine, sources)
    outputs = {p.pid: p.communicate(timeout=60)[0] for p in (first, second)}
    codes = sorted((p.returncode, outputs[p.pid]) for p in (first, second))
    (won, won_output), (lost, lost_output) = codes
    assert (won, lost) == (0, 6), codes
    assert "sc: pull:sc is already running by" in lost_output and "nothing was done" in lost_output
    assert "Traceback" not in won_output + lost_output
    assert len(server.hits("/sc.csv")) == 1
    assert count(engine, schema.snapshots) == 1 and count(engine, schema.pulls) == 1
    assert count(engine, schema.observations) == MONTHS
    assert dt.datetime.now() - started < dt.timedelta(seconds=60)
