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
