"""The web app at scale: the overview and the series page under Streamlit's `AppTest`, on a
store of N synthetic series and, as the baseline in the same run, on the bundled store.

    python3 benchmarks/bench_ui.py                      # N = 2,000; SQLite, and PostgreSQL when DOMSHARE_TEST_PG_URL is set
    python3 benchmarks/bench_ui.py --n 200 --no-pg      # a quick look
    python3 benchmarks/bench_ui.py --keep /tmp/ui-stores --profile --no-pg   # keep (or reuse) the SQLite stores; cProfile a warm overview

Each store is built by the real commands: the N synthetic shares of refresh_scale.py (seed 0,
a 70 %-by-2030 target on every tenth) written to a fresh database, `domshare init` (the
bundled series, policies and targets beside them), then `domshare refresh --models
naive,drift` (cheap models: this times the app, not the fits). The baseline store is
`domshare init` and the same refresh without synthetic series (N = 0).

The app is timed in a child process per store, so its peak RSS is the app's alone: the
overview cold (caches cleared, after an untimed first run that imports everything: a
running server that a new run just reached), then warm (the same AppTest re-run, median of
--warm runs), then the series page of one series (the one measuring the most targets) warm.
Issue 10's goal: the overview warm in <= 1 s at N = 2,000.
"""
from __future__ import annotations

import argparse
import contextlib
import cProfile
import io
import json
import os
import pstats
import resource
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(HERE))  # refresh_scale, bench_store

from bench_store import fresh_database  # noqa: E402

import refresh_scale  # noqa: E402

MODELS = "naive,drift"
APP = ROOT / "ui" / "app.py"
SERIES_PAGE = "views/series.py"


def domshare(*args: str) -> float:
    """A domshare command in its own process, as a user runs it; its wall seconds."""
    started = time.perf_counter()
    done = subprocess.run([sys.executable, "-m", "jobs", *args], cwd=ROOT, capture_output=True, text=True)
    if done.returncode != 0:
        raise SystemExit(f"domshare {' '.join(args[:1])} failed (exit {done.returncode}):\n"
                         f"{done.stdout[-2000:]}\n{done.stderr[-3000:]}")
    return time.perf_counter() - started


def build(url: str, n: int, workers: int) -> str:
    """The store: N synthetic series (none for the baseline), the bundled data, one refresh."""
    if n:
        refresh_scale.load_store(url, refresh_scale.synthetic_series(n))  # before init: its names win
    init = domshare("init", "--db", url)
    refresh = domshare("refresh", "--db", url, "--models", MODELS, "--workers", str(workers))
    return f"init {init:.1f} s, refresh --models {MODELS} {refresh:.1f} s"


# ---- the child: AppTest runs on one store ---------------------------------------------------

def busiest_series(url: str) -> str:
    """The forecast series measuring the most targets (ties: the first key)."""
    from jobs.store import db, read

    engine = db.make_engine(url)
    with engine.connect() as conn:
        run = read.latest_run(conn)
        outcomes = read.run_series_frame(conn, run["id"])
        measured = read.assessments_frame(conn, run["id"])["series"].value_counts()
    engine.dispose()
    ok = sorted(outcomes.loc[outcomes["status"] == "ok", "series_key"])
    return max(ok, key=lambda key: measured.get(key, 0))


def timed_run(at) -> float:
    started = time.perf_counter()
    at.run()
    seconds = time.perf_counter() - started
    if at.exception:
        raise SystemExit(f"the page raised: {[e.value for e in at.exception]}")
    return seconds


def profiled_run(at) -> cProfile.Profile:
    """One run with cProfile on: AppTest runs the script in a thread of its own, so the
    profiler is switched on inside it (by the first profile event of the new thread)."""
    profiler = cProfile.Profile()

    def start(*_):
        sys.setprofile(None)
        profiler.enable()
    threading.setprofile(start)
    try:
        timed_run(at)
    finally:
        threading.setprofile(None)
    return profiler


def measure(url: str, warm: int, profile: bool) -> dict:
    """Cold and warm overview, warm series page, peak RSS of this process (MB)."""
    import streamlit as st
    from streamlit.testing.v1 import AppTest

    os.environ["DOMSHARE_DB_URL"] = url
    at = AppTest.from_file(str(APP), default_timeout=600)
    timed_run(at)  # imports, the engine, the first script compilation
    st.cache_data.clear()
    st.cache_resource.clear()
    cold = timed_run(at)
    warm_runs = [timed_run(at) for _ in range(warm)]
    rows = len(at.dataframe[0].value) if at.dataframe else 0
    out = {"cold": cold, "warm": statistics.median(warm_runs), "targets_shown": rows}
    if profile:
        text = io.StringIO()
        profiler = profiled_run(at)
        pstats.Stats(profiler, stream=text).sort_stats("cumulative").print_stats(40)
        out["profile"] = text.getvalue()
    key = busiest_series(url)
    at.query_params["series"] = key
    at.switch_page(SERIES_PAGE)
    series_first = timed_run(at)
    out.update(series=key, series_first=series_first,
               series_warm=statistics.median(timed_run(at) for _ in range(warm)),
               rss=resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)
    return out


def measured(url: str, args) -> dict:
    command = [sys.executable, str(Path(__file__).resolve()), "--measure", url, "--warm", str(args.warm)]
    done = subprocess.run(command + (["--profile"] if args.profile else []), cwd=ROOT,
                          capture_output=True, text=True)
    if done.returncode != 0:
        raise SystemExit(f"the AppTest child failed (exit {done.returncode}):\n{done.stderr[-4000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


# ---- the parent: stores, children, the figures ---------------------------------------------------

def report(kind: str, label: str, figures: dict) -> None:
    print(f"[{kind}] {label}: overview cold {figures['cold']:.2f} s, warm {figures['warm']:.2f} s "
          f"(median; {figures['targets_shown']} target rows shown); series page `{figures['series']}` "
          f"first {figures['series_first']:.2f} s, warm {figures['series_warm']:.2f} s; "
          f"peak RSS {figures['rss']:.0f} MB", flush=True)
    if "profile" in figures:
        print(f"[{kind}] {label}: cProfile of one warm overview run, by cumulative time:\n{figures['profile']}")


@contextlib.contextmanager
def store(kind: str, pg_url: str | None, folder: Path, n: int, args):
    """A built store's URL: a fresh database, or with --keep a SQLite file in that folder, built
    once and reused by later runs (`domshare init` upgrades its schema; no refresh again)."""
    kept = Path(args.keep) / f"ui_{n or 'bundled'}.db" if args.keep and kind == "sqlite" else None
    label = "bundled store" if not n else f"N = {n:,}"
    if kept is not None and kept.exists():
        domshare("init", "--db", f"sqlite:///{kept}")
        print(f"[{kind}] {label}: reusing sqlite:///{kept} (built by an earlier run)", flush=True)
        yield f"sqlite:///{kept}"
        return
    if kept is not None:
        kept.parent.mkdir(parents=True, exist_ok=True)
    with contextlib.ExitStack() as stack:
        url = f"sqlite:///{kept}" if kept is not None else stack.enter_context(fresh_database(kind, pg_url, folder))
        started = time.perf_counter()
        steps = build(url, n, args.workers)
        print(f"[{kind}] {label}: built in {time.perf_counter() - started:.0f} s ({steps})"
              + (f", kept as {url}" if kept is not None else ""), flush=True)
        yield url


def bench_database(kind: str, pg_url: str | None, folder: Path, args) -> None:
    results = {}
    for label, n in (("bundled store", 0), (f"N = {args.n:,}", args.n)):
        with store(kind, pg_url, folder, n, args) as url:
            results[label] = measured(url, args)
            report(kind, label, results[label])
    base, big = results["bundled store"], results[f"N = {args.n:,}"]
    print(f"[{kind}] N = {args.n:,} / bundled: overview warm {big['warm'] / base['warm']:.2f} x, cold "
          f"{big['cold'] / base['cold']:.2f} x; series page warm {big['series_warm'] / base['series_warm']:.2f} x; "
          f"goal: overview warm <= 1 s at N = 2,000 ({'met' if big['warm'] <= 1 else 'not met'} at N = {args.n:,})")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--n", type=int, default=2000, help="synthetic series beside the bundled ones (default 2000)")
    parser.add_argument("--warm", type=int, default=5, help="warm runs whose median is printed (default 5)")
    parser.add_argument("--workers", type=int, default=2, help="refresh worker processes (default 2)")
    parser.add_argument("--profile", action="store_true", help="print a cProfile of one warm overview run")
    parser.add_argument("--keep", help="folder to keep the SQLite stores in and reuse them from (for screenshots, "
                                       "profiles); delete them to build again")
    parser.add_argument("--pg", default=os.environ.get("DOMSHARE_TEST_PG_URL"), help="PostgreSQL server URL")
    parser.add_argument("--no-pg", action="store_true")
    parser.add_argument("--no-sqlite", action="store_true")
    parser.add_argument("--measure", help=argparse.SUPPRESS)  # the child: time the app on this store
    args = parser.parse_args(argv)
    if args.measure:
        print(json.dumps(measure(args.measure, args.warm, args.profile)))
        return 0
    print(f"UI benchmark: the overview and the series page under AppTest, N = {args.n:,} synthetic series "
          f"(seed {refresh_scale.SEED}) beside the bundled data, refreshed with --models {MODELS}", flush=True)
    kinds = ([] if args.no_sqlite else ["sqlite"]) + (["postgresql"] if args.pg and not args.no_pg else [])
    with tempfile.TemporaryDirectory() as folder:
        for kind in kinds:
            bench_database(kind, args.pg, Path(folder), args)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
