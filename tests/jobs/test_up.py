"""`domshare up` starts the scheduler and the web app as children and stops both on Ctrl-C."""
from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time

import httpx
import pytest
from sqlalchemy import select

from local_server import RAW, ROOT, catalogue_store
from forecast.engine import EngineConfig
from jobs.pull import run_pull
from jobs.refresh import refresh
from jobs.sources.config import SourceConfig
from jobs.store import schema

pytestmark = pytest.mark.slow


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_up_runs_scheduler_and_ui_and_ctrl_c_stops_both(tmp_path):
    db_url = f"sqlite:///{tmp_path / 'store.db'}"
    engine = catalogue_store(db_url)
    mirror = SourceConfig(name="sc", kind="statcounter", schedule="interval:1h",
                          url=str(RAW / "statcounter" / "vendor-CN-monthly-201003-202404.csv"))
    assert run_pull(engine, mirror).status == "ok"
    refresh(engine, EngineConfig(specs=("naive", "drift")), workers=1, progress=False)
    sources = tmp_path / "sources.toml"
    sources.write_text(f'[[sources]]\nname = "sc"\nkind = "statcounter"\nurl = "{mirror.url}"\n'
                       'schedule = "interval:1s"\n')
    port = free_port()
    log = tmp_path / "up.log"
    with open(log, "w") as handle:
        up = subprocess.Popen([sys.executable, "-m", "jobs", "up", "--db", db_url, "--sources", str(sources),
                               "--out", str(tmp_path / "exports"), "--port", str(port)],
                              cwd=ROOT, stdout=handle, stderr=subprocess.STDOUT,
                              env={**os.environ, "PYTHONUNBUFFERED": "1", "DOMSHARE_WORKERS": "1"})
    try:
        deadline, healthy = time.monotonic() + 60, False
        while time.monotonic() < deadline and not healthy:
            time.sleep(0.5)
            assert up.poll() is None, log.read_text()
            try:
                healthy = httpx.get(f"http://127.0.0.1:{port}/_stcore/health", timeout=2).text == "ok"
            except httpx.HTTPError:
                pass
        assert healthy, log.read_text()
        while time.monotonic() < deadline:  # the scheduler child runs its 1 s pull job
            with engine.connect() as conn:
                if conn.execute(select(schema.job_runs.c.id).where(schema.job_runs.c.job == "pull:sc")).first():
                    break
            time.sleep(0.3)
        else:
            pytest.fail(log.read_text())
    finally:
        up.send_signal(signal.SIGINT)
        try:
            code = up.wait(timeout=60)
        except subprocess.TimeoutExpired:
            up.kill()
            raise
    text = log.read_text()
    assert code == 0, text
    assert f"open http://localhost:{port}/" in text and "stopping" in text
    with pytest.raises(httpx.HTTPError):
        httpx.get(f"http://127.0.0.1:{port}/_stcore/health", timeout=2)
    assert "scheduler stopped" in text
    # the scheduler's own line per job, not APScheduler's chatter around it
    assert "pull sc: " in text and "Added job" not in text and "Running job" not in text, text


def descendants(pid: int) -> list[int]:
    """Every live process below `pid` (children, grandchildren ...), from /proc."""
    parents = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as handle:
                    parents[int(entry)] = int(handle.read().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
    found, frontier = [], [pid]
    while frontier:
        children = [p for p, parent in parents.items() if parent in frontier]
        found += children
        frontier = children
    return found


def read_proc(pid: int, name: str) -> bytes:
    try:
        with open(f"/proc/{pid}/{name}", "rb") as handle:
            return handle.read()
    except OSError:  # it exited meanwhile
        return b""


@pytest.mark.postgres
def test_up_keeps_a_postgresql_password_off_every_command_line_and_out_of_its_output(pg_url, tmp_path):
    password = "s3cret-Pa55word"
    db_url = pg_url.replace("postgresql://postgres@", f"postgresql://postgres:{password}@", 1)
    assert password in db_url
    engine = catalogue_store(db_url)
    mirror = SourceConfig(name="sc", kind="statcounter", schedule="interval:1h",
                          url=str(RAW / "statcounter" / "vendor-CN-monthly-201003-202404.csv"))
    assert run_pull(engine, mirror).status == "ok"
    refresh(engine, EngineConfig(specs=("naive", "drift")), workers=1, progress=False)
    engine.dispose()
    port, log = free_port(), tmp_path / "up.log"
    with open(log, "w") as handle:
        up = subprocess.Popen([sys.executable, "-m", "jobs", "up", "--port", str(port), "--out", str(tmp_path / "x")],
                              cwd=ROOT, stdout=handle, stderr=subprocess.STDOUT,
                              env={**os.environ, "PYTHONUNBUFFERED": "1", "DOMSHARE_DB_URL": db_url})
    try:
        deadline, seen = time.monotonic() + 60, {}
        while time.monotonic() < deadline and len(seen) < 2:
            time.sleep(0.5)
            assert up.poll() is None, log.read_text()
            for pid in descendants(up.pid):
                cmdline = read_proc(pid, "cmdline")
                if b"scheduler" in cmdline or b"streamlit" in cmdline:
                    seen[pid] = (cmdline, read_proc(pid, "environ"))
        assert len(seen) == 2, (log.read_text(), seen)
        for pid in [up.pid, *descendants(up.pid)]:
            assert password.encode() not in read_proc(pid, "cmdline"), pid
        for cmdline, environ in seen.values():  # the children got the URL through the environment
            assert f"DOMSHARE_DB_URL={db_url}".encode() in environ.split(b"\0")
    finally:
        up.send_signal(signal.SIGINT)
        try:
            up.wait(timeout=60)
        except subprocess.TimeoutExpired:
            up.kill()
            raise
    text = log.read_text()
    assert password not in text and "postgres:***@" in text  # `domshare ui` names the database, password hidden
