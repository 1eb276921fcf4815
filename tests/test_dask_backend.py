"""`refresh --backend dask` on a real 2-worker `distributed.LocalCluster` started here: the
bundled store refreshed by the Dask workers and by the local process pool, same seed, gives
the same export files byte for byte. Only the run's start and finish times differ (run.json's
started_at/finished_at, history.csv's run_finished_at); they are compared without them.
A scheduler address that answers nothing is one clear line, exit 2, the store unchanged; a
cluster without workers, with multi-threaded workers or with a worker running other
forecasting code (a real `dask worker` on a modified copy of the code) is refused. A killed
Dask refresh leaves no task on the cluster, and the next refresh marks its run abandoned.
On PostgreSQL (DOMSHARE_TEST_PG_URL) the same: a few synthetic series refreshed by both
backends give the same export files."""
from __future__ import annotations

import datetime as dt
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
from sqlalchemy import select, text

from jobs import backends
from jobs.errors import ConfigError
from jobs.store import db, schema
from store_contents import assert_same_exports, table_contents
from synthetic_store import seed_store
from test_refresh import ROOT, cli
from test_refresh_lease import many_series, run_rows, wait_for

distributed = pytest.importorskip("distributed")



@pytest.fixture(scope="module")
def cluster():
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                  dashboard_address=":0") as local_cluster:
        yield local_cluster.scheduler_address


@pytest.fixture(scope="module")
def bundled(tmp_path_factory) -> Path:
    """One `domshare init` store of the bundled data; tests refresh copies of it."""
    path = tmp_path_factory.mktemp("bundled") / "bundled.db"
    done = cli("init", "--db", f"sqlite:///{path}")
    assert done.returncode == 0, done.stderr
    return path


def refreshed_export(bundled: Path, folder: Path, *args: str) -> Path:
    """Refresh a copy of the bundled store with `args`, export it, return the export folder."""
    folder.mkdir()
    shutil.copy(bundled, folder / "store.db")
    url = f"sqlite:///{folder / 'store.db'}"
    done = cli("refresh", "--db", url, "--seed", "7", *args)
    assert done.returncode == 0, done.stdout + done.stderr
    exported = cli("export", "--db", url, "--out", str(folder / "export"))
    assert exported.returncode == 0, exported.stderr
    return folder / "export"


@pytest.mark.slow
def test_dask_and_local_refresh_give_identical_exports(cluster, bundled, tmp_path):
    models = ["--models", "naive,drift,ets_damped"]
    local = refreshed_export(bundled, tmp_path / "local", *models, "--workers", "2")
    dask = refreshed_export(bundled, tmp_path / "dask", *models, "--backend", "dask", "--scheduler-address", cluster)
    assert_same_exports(local, dask)
    forecasts = pd.read_csv(dask / "forecasts.csv")
    assert forecasts["series"].nunique() >= 5  # the series the bundled data can forecast


def refreshed_pg_export(pg_url: str, folder: Path, *args: str) -> Path:
    """The same few synthetic series and targets written to an emptied PostgreSQL database
    (so the run is run 1 again), refreshed with `args` and exported."""
    engine = db.make_engine(pg_url)
    with engine.begin() as conn:
        conn.execute(text("DROP SCHEMA public CASCADE; CREATE SCHEMA public"))
    engine.dispose()
    seed_store(pg_url, many_series(6), [{"id": f"T{i}", "series_key": f"s{i:02d}", "threshold": 0.8,
                                          "deadline": dt.date(2027 + i, 12, 31), "measure": "direct"}
                                         for i in range(3)])
    done = cli("refresh", "--db", pg_url, "--seed", "7", "--models", "naive,drift,ets_damped", *args)
    assert done.returncode == 0, done.stdout + done.stderr
    exported = cli("export", "--db", pg_url, "--out", str(folder))
    assert exported.returncode == 0, exported.stderr
    return folder


@pytest.mark.slow
@pytest.mark.postgres
def test_dask_and_local_refresh_give_identical_exports_on_postgresql(cluster, pg_url, tmp_path):
    local = refreshed_pg_export(pg_url, tmp_path / "local", "--workers", "2")
    dask = refreshed_pg_export(pg_url, tmp_path / "dask", "--backend", "dask", "--scheduler-address", cluster)
    assert_same_exports(local, dask)
    assert pd.read_csv(dask / "forecasts.csv")["series"].nunique() == 6
    assert pd.read_csv(dask / "targets.csv")["probability_by_deadline"].notna().all()


@pytest.mark.slow
@pytest.mark.prophet
def test_dask_and_local_prophet_fits_are_identical(cluster, bundled, tmp_path):
    args = ["--models", "naive,prophet_logistic", "--mcmc-samples", "20", "--series",
            "os_mobile_harmonyos_share_counterpoint", "phones_shipments_caict_domestic_share_monthly"]
    local = refreshed_export(bundled, tmp_path / "local", *args, "--workers", "2")
    dask = refreshed_export(bundled, tmp_path / "dask", *args, "--scheduler-address", cluster)  # dask: implied
    assert_same_exports(local, dask)
    assert "prophet_logistic" in (tmp_path / "dask" / "export" / "run.json").read_text()


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.mark.parametrize("address, says", [
    (None, "no Dask scheduler answered"),
    ("127.0.0.1:8786", "is not a Dask scheduler address like tcp://HOST:PORT"),
    ("tcp://127.0.0.1", "is not a Dask scheduler address like tcp://HOST:PORT"),
])
def test_a_bad_scheduler_address_is_one_line_exit_2_and_changes_nothing(bundled, tmp_path, address, says):
    store = tmp_path / "store.db"
    shutil.copy(bundled, store)
    engine = db.make_engine(f"sqlite:///{store}")
    before = table_contents(engine)
    address = address or f"tcp://127.0.0.1:{free_port()}"  # nothing listens there
    done = cli("refresh", "--db", f"sqlite:///{store}", "--models", "naive", "--backend", "dask",
               env={"DOMSHARE_DASK_ADDRESS": address, "DASK_DISTRIBUTED__COMM__TIMEOUTS__CONNECT": "2s"})
    assert done.returncode == ConfigError.exit_code, done.stdout + done.stderr
    assert done.stderr.startswith("error: ") and says in done.stderr and done.stderr.count("\n") == 1, done.stderr
    assert table_contents(engine) == before
    engine.dispose()


@pytest.mark.parametrize("threads, says", [
    (2, "run more than one thread: start them with `dask worker ADDRESS --nthreads 1`"),
    (0, "has no workers"),  # 0: a scheduler without workers
])
def test_a_cluster_that_cannot_give_identical_results_is_refused(monkeypatch, threads, says):
    monkeypatch.setenv("DASK_DISTRIBUTED__COMM__TIMEOUTS__CONNECT", "2s")
    from dask import config

    config.refresh()  # the environment is read at import: read it again
    with distributed.LocalCluster(n_workers=1 if threads else 0, threads_per_worker=threads or 1, processes=False,
                                  protocol="tcp", host="127.0.0.1",
                                  dashboard_address=":0") as local_cluster:
        with pytest.raises(ConfigError, match=re.escape(says)):
            with backends.open_backend("dask", 2, local_cluster.scheduler_address):
                pytest.fail("the backend opened")
    monkeypatch.undo()
    config.refresh()


def test_workers_running_other_forecasting_code_are_refused(tmp_path):
    """A real `dask worker` whose forecast/ differs by one comment (an older or newer checkout)."""
    copy = tmp_path / "other-checkout"
    for package in ("forecast", "jobs"):
        shutil.copytree(ROOT / package, copy / package, ignore=shutil.ignore_patterns("__pycache__"))
    with open(copy / "forecast" / "engine.py", "a", encoding="utf-8") as handle:
        handle.write("# another version\n")
    with distributed.LocalCluster(n_workers=0, processes=False, protocol="tcp", host="127.0.0.1",
                                  dashboard_address=":0") as local_cluster:
        worker = subprocess.Popen([sys.executable, "-m", "distributed.cli.dask_worker", local_cluster.scheduler_address,
                                   "--nthreads", "1", "--no-dashboard"], cwd=tmp_path,
                                  env={**os.environ, "PYTHONPATH": str(copy)},
                                  stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            with pytest.raises(ConfigError, match=r"1 Dask worker\(s\) at .* run other code than this process, "
                                                  r"e\.g\. tcp://.*: forecast code [0-9a-f]{12} \(here [0-9a-f]{12}\)"):
                with backends.open_backend("dask", 2, local_cluster.scheduler_address):
                    pytest.fail("the backend opened")
        finally:
            worker.terminate()
            worker.wait(timeout=60)


def tasks(client) -> int:
    """Tasks the Dask scheduler holds (a client that went away has its own forgotten)."""
    return client.run_on_scheduler(lambda dask_scheduler: len(dask_scheduler.tasks))


@pytest.mark.slow
def test_a_killed_dask_refresh_leaves_no_task_on_the_cluster_and_is_abandoned_by_the_next(cluster, sqlite_url):
    seed_store(sqlite_url, many_series(40))
    engine = db.make_engine(sqlite_url)
    args = ["--models", "naive,drift,ets_damped", "--scheduler-address", cluster]
    proc = subprocess.Popen([sys.executable, "-m", "jobs", "refresh", "--db", sqlite_url, *args],
                            cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        def written():
            with engine.connect() as conn:
                return conn.execute(select(schema.run_series.c.series_key)).first()
        wait_for(written, 120, "a first batch of results")
        with distributed.Client(cluster, set_as_default=False) as client:
            assert tasks(client) > 0  # fits still under way or queued
            os.kill(proc.pid, signal.SIGKILL)
            proc.wait()
            wait_for(lambda: tasks(client) == 0, 60, "the cluster dropping the killed refresh's tasks")
    finally:
        proc.kill()
        proc.wait()
    assert run_rows(engine) == [(1, "running")]
    out = cli("refresh", "--db", sqlite_url, *args)
    assert out.returncode == 0, out.stdout + out.stderr
    assert "run 1 marked abandoned" in out.stdout and "run 2 complete" in out.stdout
    assert run_rows(engine) == [(1, "abandoned"), (2, "complete")]
    engine.dispose()
