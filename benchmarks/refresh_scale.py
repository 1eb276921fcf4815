"""The refresh part of bench_refresh.py: the default `domshare refresh` at N series against
the Prophet loop a user would write, on the same synthetic series in the same run.

1. N synthetic shares (seed 0): monthly, quarterly and annual, 8-240 points, a third with
   random gaps and a sixth with a block of missing years; a target on every tenth.
2. Per database (SQLite file; PostgreSQL when --pg or DOMSHARE_TEST_PG_URL is set): a fresh
   store, `domshare refresh` in its own process timed end to end (fit, backtest, paths,
   crossings, targets, writes; Python start-up included), its peak RSS and that of it with
   its workers (sampled every 0.2 s); where the time went (the run's per-series fit seconds);
   then 1 % of the series get a new observation and a second refresh is timed; then every
   series gets one and a third refresh is timed, whose refits reuse their stored model
   choice where the rule allows (bench_choice_reused).
3. The plain loop: `Prophet(growth="logistic")`, cap 1, floor 0, `fit`, `predict` over the
   same future dates with the default uncertainty samples; one series after another, then
   in a 2-process pool.
4. Where a fit's time goes: cProfile of `forecast_series` on a few series in this process.

Large-N parts (--cheap-models, default naive,drift: the aim is the refresh's own cost, not the fits'):
- rss: per database, a fresh store of each --rss-n size (default 1,000 and 4,000), a full
  refresh and a new-day refresh (everything carried over), their peak RSS and its ratio
  between the largest and smallest N (issue 10: at most 1.3 x).
- incremental: a store of --n series with a target due on the seed refresh's --as-of; the
  seed refresh, then (a) 1 % of the series get a new observation: seconds, refitted count,
  and whether the run refitted exactly the changed series; (b) the next day (--as-of + 1,
  no data change): seconds, refitted count, and whether every target was re-assessed on
  that day (each due target has left on_track / at_risk / off_track).
"""
from __future__ import annotations

import concurrent.futures as cf
import cProfile
import datetime as dt
import json
import multiprocessing
import os
import pstats
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd
import psutil
from sqlalchemy import select

from bench_store import fresh_database
from forecast.calendar import future_dates
from forecast.engine import EngineConfig, forecast_series
from forecast.frames import DS, TARGET_INPUT_COLUMNS, Y
from jobs.periods import FREQUENCY_PERIOD
from jobs.sources.base import OBSERVATION_COLUMNS
from jobs.store import db, read, schema, writes

ROOT = Path(__file__).resolve().parent.parent
SEED = 0
HORIZON = EngineConfig.horizon
SHAPES = {"monthly": ("MS", 24, 240, 0.5), "quarterly": ("QS", 12, 120, 0.3), "annual": ("YS", 8, 40, 0.2)}
PHASES = {  # cProfile function name -> phase of forecast_series
    "backtest": "backtest (model choice at origins)", "fit_weighted": "final fit and paths",
    "crossings_frame": "crossings", "assess_targets": "targets",
}
FAMILIES = {"prophet_models.py": "Prophet", "stats_models.py": "statsforecast", "models.py": "naive/drift"}


def add_arguments(parser) -> None:
    parser.add_argument("--n", type=int, default=100, help="synthetic series (default 100)")
    parser.add_argument("--refresh-n", type=int, default=None, help="series of the refresh part (default: --n)")
    parser.add_argument("--workers", type=int, default=2, help="refresh worker processes (default 2)")
    parser.add_argument("--backend", default="local", choices=("local", "dask"))
    parser.add_argument("--scheduler-address", default=None, help="Dask scheduler for --backend dask")
    parser.add_argument("--models", default=None, help="refresh --models of the refresh part (default: the refresh's default, all)")
    parser.add_argument("--cheap-models", default="naive,drift",
                        help="refresh --models of the rss and incremental parts (default naive,drift)")
    parser.add_argument("--profile-series", type=int, default=3, help="series profiled in this process (0: skip)")
    parser.add_argument("--pg", default=os.environ.get("DOMSHARE_TEST_PG_URL"), help="PostgreSQL server URL")
    parser.add_argument("--no-pg", action="store_true")
    parser.add_argument("--no-sqlite", action="store_true")
    parser.add_argument("--rss-n", default="1000,4000", help="store sizes of --parts rss (default 1000,4000)")


AHEAD = ("on_track", "at_risk", "off_track")  # a target's statuses while its deadline is ahead


# ---- 1. series ---------------------------------------------------------------------------

def synthetic_series(n: int, seed: int = SEED) -> dict[str, tuple[str, pd.DataFrame]]:
    """{key: (frequency, frame of date, value)}: logistic shares with seeded noise and gaps."""
    rng = np.random.default_rng(seed)
    out = {}
    for i in range(n):
        frequency = rng.choice(list(SHAPES), p=[shape[3] for shape in SHAPES.values()])
        offset, low, high, _ = SHAPES[frequency]
        dates = pd.date_range(end="2025-01-01", periods=int(rng.integers(low, high + 1)), freq=offset)
        years = (dates - pd.Timestamp(f"{rng.integers(2012, 2036)}-01-01")).days / 365.25
        level = 1 / (1 + np.exp(-rng.uniform(0.15, 0.9) * years))  # then the noise: the draws' order is the seed's
        values = np.clip(level + rng.normal(0, rng.uniform(0.005, 0.03), len(dates)), 0, 1)
        keep = np.ones(len(dates), bool)
        if i % 3 == 1:  # random gaps
            keep &= rng.random(len(dates)) > 0.15
        if i % 6 == 2 and len(dates) > 16:  # a block of missing years
            start = int(rng.integers(4, len(dates) - 8))
            keep[start:start + len(dates) // 4] = False
        if keep.sum() < 8:
            keep[:] = True
        out[f"syn_{frequency}_{i:05d}"] = (frequency, pd.DataFrame({"date": dates[keep], "value": values[keep]}))
    return out


def describe(series: dict) -> str:
    counts = pd.Series([f for f, _ in series.values()]).value_counts()
    sizes = [len(frame) for _, frame in series.values()]
    return (", ".join(f"{counts.get(f, 0)} {f}" for f in SHAPES) + f"; {min(sizes)}-{max(sizes)} points, "
            f"{sum(sizes):,} observations")


def load_store(url: str, series: dict, deadline: dt.date = dt.date(2030, 12, 31)) -> None:
    engine = db.make_engine(url)
    db.upgrade(engine)
    with db.transaction(engine) as conn:
        writes.upsert_sectors(conn, [{"code": "banking", "name": "Banking"}])
        writes.upsert_technologies(conn, [{"code": "all", "name": "All IT"}])
        writes.upsert_series(conn, [{"key": key, "sector": "banking", "technology": "all", "frequency": freq,
                                     "kind": "domestic_share", "title": f"Synthetic {key}", "source": "synthetic"}
                                    for key, (freq, _) in series.items()])
        snapshot = writes.save_snapshot(conn, source="synthetic", url="file:synthetic", content=b"synthetic")
        writes.upsert_observations(conn, observations(series), snapshot)
        writes.upsert_policies(conn, [{"id": "B1", "title": "Synthetic policy", "date": dt.date(2015, 1, 1)}])
        writes.upsert_targets(conn, [{"id": f"B1-{key}", "policy_id": "B1", "sector": "banking", "technology": "all",
                                      "threshold": 0.7, "deadline": deadline, "series_key": key,
                                      "measure": "direct"} for key in list(series)[::10]])
    engine.dispose()


def observations(series: dict) -> pd.DataFrame:
    return pd.concat([pd.DataFrame({
        "series_key": key, "date": [d.date() for d in frame["date"]], "value": frame["value"].astype(float),
        "period_type": FREQUENCY_PERIOD[freq], "source_url": None, "note": None,
    }) for key, (freq, frame) in series.items()])[OBSERVATION_COLUMNS]


def one_percent_new(url: str, series: dict) -> list[str]:
    """A new observation (the next period, the last value) for 1 % of the series (at least one)."""
    return new_observations(url, series, list(series)[::100])  # ceil(N / 100) of them


def new_observations(url: str, series: dict, keys: list[str]) -> list[str]:
    """The next period after each series' newest stored observation, with its last value."""
    engine = db.make_engine(url)
    with engine.connect() as conn:
        newest = read.history_frame(conn, keys, validate=False).groupby("series")[DS].max()
    grown = {}
    for key in keys:
        freq, frame = series[key]
        step = pd.tseries.frequencies.to_offset(SHAPES[freq][0])
        grown[key] = (freq, pd.DataFrame({"date": [pd.Timestamp(newest[key]) + step], "value": [frame["value"].iloc[-1]]}))
    with db.transaction(engine) as conn:
        snapshot = writes.save_snapshot(conn, source="synthetic", url=f"file:synthetic-{dt.datetime.now():%H%M%S%f}",
                                        content=repr(sorted(grown)).encode())
        writes.upsert_observations(conn, observations(grown), snapshot)
    engine.dispose()
    return keys


# ---- 2. the refresh, in its own process ------------------------------------------------------

def timed_refresh(url: str, args, models: str | None = None, *extra: str) -> dict:
    """`domshare refresh` as a user runs it (`models`: default args.models; `extra`: more
    options); wall seconds, peak RSS (MB) alone and with workers."""
    command = [sys.executable, "-m", "jobs", "refresh", "--db", url, "--workers", str(args.workers), *extra]
    if models or args.models:
        command += ["--models", models or args.models]
    if args.backend == "dask":
        command += ["--backend", "dask", "--scheduler-address", args.scheduler_address or ""]
    # output to files, not pipes: a pipe nobody reads while we poll fills up (64 KB of the
    # workers' warnings at N = 10,000) and blocks the refresh and its workers for good
    with tempfile.TemporaryFile("w+") as stdout, tempfile.TemporaryFile("w+") as stderr:
        started = time.perf_counter()
        proc = subprocess.Popen(command, cwd=ROOT, stdout=stdout, stderr=stderr, text=True)
        watched, peak, peak_tree = psutil.Process(proc.pid), 0, 0
        while proc.poll() is None:
            try:
                own = watched.memory_info().rss
                tree = own + sum(c.memory_info().rss for c in watched.children(recursive=True))
                peak, peak_tree = max(peak, own), max(peak_tree, tree)
            except psutil.Error:  # a worker ended between the listing and the reading
                pass
            time.sleep(0.2)
        seconds = time.perf_counter() - started
        out, err = (_read_back(f) for f in (stdout, stderr))
    if proc.returncode != 0:
        raise SystemExit(f"domshare refresh failed (exit {proc.returncode}):\n{out}\n{err[-3000:]}")
    return {"seconds": seconds, "rss": peak / 2**20, "rss_tree": peak_tree / 2**20, "out": out.strip()}


def _read_back(file) -> str:
    file.seek(0)
    return file.read()


def run_summary(url: str) -> dict:
    """The latest run's record: per series its fit seconds, status, model, last observation,
    the runs holding its results and its model choice, the choice (JSON); and its counts."""
    engine = db.make_engine(url)
    with engine.connect() as conn:
        run = read.latest_run(conn)
        rs = schema.run_series
        rows = pd.DataFrame(conn.execute(select(rs.c.series_key, rs.c.status, rs.c.model, rs.c.seconds,
                                                rs.c.results_run_id, rs.c.choice_run_id, rs.c.choice,
                                                rs.c.last_obs_date).where(rs.c.run_id == run["id"])).mappings().all())
    engine.dispose()
    return {"run": run, "rows": rows}


def fitted_in(url: str, run_id: int) -> pd.DataFrame:
    """The series run `run_id` fitted itself (not carried over), with their fit seconds."""
    engine = db.make_engine(url)
    rs = schema.run_series
    with engine.connect() as conn:
        rows = pd.DataFrame(conn.execute(select(rs.c.series_key, rs.c.seconds).where(
            rs.c.run_id == run_id, rs.c.results_run_id == run_id)).mappings().all(), columns=["series_key", "seconds"])
    engine.dispose()
    return rows


def refitted(summary: dict) -> str:
    """How many series the run refitted and carried over, from its record."""
    run = summary["run"]
    return f"refitted {run['series_refitted']}, carried over {run['series_carried']} (run {run['id']})"


def bench_database(kind: str, url: str, series: dict, args,
                   loop_rates: tuple[float, float] | None) -> tuple[float, bool]:
    """The refresh part on one database; returns the fits' worker-seconds per series, and
    whether the choice-reused refresh reused the choice of exactly the expected series."""
    n = len(series)
    seconds_load = _timed(load_store, url, series)
    print(f"[{kind}] store loaded in {seconds_load:.1f} s")
    first = timed_refresh(url, args)
    rate = n / first["seconds"]
    print(f"[{kind}] default refresh ({args.backend}, {args.workers} workers): {first['seconds']:.1f} s = "
          f"{rate:.3f} series/s; peak RSS {first['rss']:.0f} MB (refresh process), "
          + (f"{first['rss_tree']:.0f} MB with its workers" if args.backend == "local" else "Dask workers not counted"))
    if loop_rates:
        print(f"[{kind}]   refresh / plain Prophet loop: {rate / loop_rates[0]:.3f} x sequential, "
              f"{rate / loop_rates[1]:.3f} x the 2-process pool")
    summary = run_summary(url)
    rows = summary["rows"]
    fit = rows["seconds"].fillna(0).sum()
    rest = first["seconds"] - fit / args.workers
    print(f"[{kind}]   where the time went: fits {fit:.1f} worker-s ({fit / n:.2f} s/series, "
          f"{fit / (first['seconds'] * args.workers):.0%} of {args.workers} workers x wall); the rest "
          f"(start-up, reads, writes, idle workers) about {rest:.1f} s; statuses "
          f"{rows['status'].value_counts().to_dict()}; chosen {rows['model'].value_counts().to_dict()}")
    changed = one_percent_new(url, series)
    second = timed_refresh(url, args)
    print(f"[{kind}] after {len(changed)} series ({len(changed) / n:.0%}) got a new observation: "
          f"{second['seconds']:.1f} s, {refitted(run_summary(url))}")
    return fit / n, bench_choice_reused(kind, url, series, args, loop_rates)


def bench_choice_reused(kind: str, url: str, series: dict, args, loop_rates: tuple[float, float] | None) -> bool:
    """Every series gets one new observation, then `domshare refresh`: the refits whose rule
    allows it reuse their stored model choice (final fit only). Series/s, the ratio to the
    plain loop, and the count of reused choices against the series the rule lets reuse:
    those `ok` in the previous run whose new point lies less than a year after the data
    their choice saw (annual series' next point is a year later: they choose again)."""
    n = len(series)
    expected = sum(_may_reuse(state, series[state["series_key"]][0]) for state in run_summary(url)["rows"].to_dict("records"))
    new_observations(url, series, list(series))
    timed = timed_refresh(url, args)
    summary = run_summary(url)
    run, rows, rate = summary["run"], summary["rows"], n / timed["seconds"]
    fits = rows[rows["results_run_id"] == run["id"]]
    reused = fits["choice_run_id"] != run["id"]
    versus = f" = {rate / loop_rates[0]:.3f} x the plain Prophet loop's sequential rate (aim: at least 4 x)" \
        if loop_rates else ""
    print(f"[{kind}] choice reused: after every series ({n}) got one new observation: {timed['seconds']:.1f} s = "
          f"{rate:.3f} series/s{versus}; {refitted(summary)}, choice reused by {run['series_choice_reused']} "
          f"(expected {expected}; the other {n - expected} choose again); fits "
          f"{_per_series(fits[reused])} reused, {_per_series(fits[~reused])} reselected")
    ok = run["series_choice_reused"] == expected == int(reused.sum())
    return bench_final_fits_only(kind, url, series, args, loop_rates) and ok


def bench_final_fits_only(kind: str, url: str, series: dict, args, loop_rates: tuple[float, float] | None) -> bool:
    """Issue 10's case "the model choice is reused and only the final fits run": one more
    observation for exactly the series whose rule allows reusing their choice (the others
    are carried over, unchanged), then `domshare refresh`. Refitted series per second, its
    ratio to the plain loop's sequential rate, and how many stored Prophet posteriors were
    updated by importance sampling instead of sampled again."""
    may = [s["series_key"] for s in run_summary(url)["rows"].to_dict("records")
           if _may_reuse(s, series[s["series_key"]][0])]
    new_observations(url, series, may)
    timed = timed_refresh(url, args)
    summary = run_summary(url)
    run, rows = summary["run"], summary["rows"]
    rate = run["series_refitted"] / timed["seconds"]
    fits = rows[rows["results_run_id"] == run["id"]]
    versus = f" = {rate / loop_rates[0]:.3f} x the plain Prophet loop's sequential rate (aim: at least 4 x)" \
        if loop_rates else ""
    print(f"[{kind}] final fits only: the {len(may)} series whose rule allows reusing the choice got one more "
          f"observation: {timed['seconds']:.1f} s = {rate:.3f} refitted series/s{versus}; {refitted(summary)}, "
          f"choice reused by {run['series_choice_reused']}, posterior updated by importance sampling for "
          f"{run['series_posterior_updated']}; fits {_per_series(fits)}")
    return run["series_choice_reused"] == run["series_refitted"] == len(may)


def _may_reuse(state: dict, frequency: str) -> bool:
    """Whether the rule lets this series (its row in the latest run) reuse its choice after
    one new observation: ok, and the next period before a year past the choice's data."""
    if state["status"] != "ok" or not isinstance(state["choice"], str):
        return False
    following = pd.Timestamp(state["last_obs_date"]) + pd.tseries.frequencies.to_offset(SHAPES[frequency][0])
    return following < pd.Timestamp(json.loads(state["choice"])["last_obs_date"]) + pd.DateOffset(years=1)


def _per_series(fits: pd.DataFrame) -> str:
    return f"{fits['seconds'].fillna(0).mean():.2f} s/series x {len(fits)}" if len(fits) else "none"


def _timed(fn, *args) -> float:
    started = time.perf_counter()
    fn(*args)
    return time.perf_counter() - started


# ---- 3. the plain Prophet loop -----------------------------------------------------------------

def prophet_once(frequency: str, frame: pd.DataFrame) -> int:
    """What a user writes: logistic Prophet, cap 1, floor 0, fit, predict the future dates."""
    from prophet import Prophet

    from forecast.prophet_models import quiet

    quiet()
    history = pd.DataFrame({"ds": frame["date"], "y": frame["value"], "cap": 1.0, "floor": 0.0})
    model = Prophet(growth="logistic")
    model.fit(history)
    future = pd.DataFrame({"ds": future_dates(frame["date"].iloc[-1], HORIZON, frequency), "cap": 1.0, "floor": 0.0})
    return len(model.predict(future))


def bench_prophet_loop(series: dict) -> tuple[float, float]:
    """Series/s of the plain loop: sequential, and in a 2-process pool."""
    n = len(series)
    items = list(series.values())
    prophet_once(*items[0])  # imports and CmdStan's first load not counted, as in the pool below
    sequential = _timed(lambda: [prophet_once(f, frame) for f, frame in items])
    with cf.ProcessPoolExecutor(2, mp_context=multiprocessing.get_context("spawn")) as pool:
        list(pool.map(prophet_once, [items[0][0]] * 2, [items[0][1]] * 2))  # start-up not counted
        pooled = _timed(lambda: list(pool.map(prophet_once, [f for f, _ in items], [frame for _, frame in items])))
    print(f"plain Prophet loop (logistic, cap 1, floor 0, fit + predict to {HORIZON}, default uncertainty samples):")
    print(f"  sequential      {sequential:8.1f} s = {n / sequential:.2f} series/s")
    print(f"  2-process pool  {pooled:8.1f} s = {n / pooled:.2f} series/s ({sequential / pooled:.2f} x sequential)")
    return n / sequential, n / pooled


# ---- 4. where a fit's time goes -------------------------------------------------------------

def profile_fits(series: dict, count: int, models: str | None) -> None:
    specs = tuple(models.split(",")) if models else EngineConfig.specs
    config = EngineConfig(specs=specs)
    profiler = cProfile.Profile()
    chosen = list(series.items())[:count]

    def fit(key, freq, frame):
        forecast_series(key, pd.DataFrame({DS: frame["date"], Y: frame["value"]}),
                        pd.DataFrame(columns=TARGET_INPUT_COLUMNS), config, freq)
    fit(chosen[0][0], *chosen[0][1])  # imports and JIT compilation (once per worker process) not counted
    started = time.perf_counter()
    profiler.enable()
    for key, (freq, frame) in chosen:
        fit(key, freq, frame)
    profiler.disable()
    total = time.perf_counter() - started
    stats = pstats.Stats(profiler).stats
    shares = {label: max((v[3] for (f, _, name), v in stats.items() if name == fn and "forecast" in f), default=0.0)
              for fn, label in PHASES.items()}
    shown = ", ".join(f"{label} {t / total:.0%}" for label, t in shares.items())
    print(f"where a fit's time goes (cProfile, {len(chosen)} series in this process after a warm-up fit, "
          f"{total:.1f} s): {shown}")
    families = {label: sum(v[3] for (f, _, name), v in stats.items() if name == "fit_predict"
                           and Path(f).name == file and Path(f).parent.name == "forecast")
                for file, label in FAMILIES.items()}
    print("  in the models' fit_predict, at origins and final: "
          + ", ".join(f"{label} {t / total:.0%}" for label, t in families.items()))


# ---- 5. large N: memory, and the incremental refresh ----------------------------------------

def mb(refresh: dict) -> str:
    return f"peak RSS {refresh['rss']:.0f} MB (refresh process), {refresh['rss_tree']:.0f} MB with its workers"


def bench_rss(kind: str, folder: Path, args) -> None:
    """Peak RSS of a full and of a new-day refresh at each --rss-n size, and their ratios."""
    models, today = args.cheap_models, dt.date.today()
    sizes = sorted(int(n) for n in args.rss_n.split(","))
    print(f"[{kind}] memory at N = {', '.join(f'{n:,}' for n in sizes)} (models {models}: the refresh's own "
          f"memory, not the fits'; {args.workers} workers)")
    peaks = []
    for n in sizes:
        with fresh_database(kind, args.pg, folder) as url:
            load_store(url, synthetic_series(n))
            full = timed_refresh(url, args, models, "--as-of", str(today))
            day = timed_refresh(url, args, models, "--as-of", str(today + dt.timedelta(days=1)))
        print(f"[{kind}]   N = {n:,}: full refresh {full['seconds']:.1f} s, {mb(full)}; new-day refresh "
              f"(all carried over) {day['seconds']:.1f} s, {mb(day)}")
        peaks.append((full["rss"], full["rss_tree"], day["rss"]))
    (f0, t0, d0), (f1, t1, d1) = peaks[0], peaks[-1]
    print(f"[{kind}]   peak RSS at N = {sizes[-1]:,} over N = {sizes[0]:,}: full refresh {f1 / f0:.2f} x "
          f"(refresh process), {t1 / t0:.2f} x with its workers; new-day refresh {d1 / d0:.2f} x (aim: at most 1.3 x)")


def bench_incremental(kind: str, url: str, series: dict, args, default_cost: float | None) -> bool:
    """The seed refresh, (a) after 1 % changed, (b) on the next day; False if a check failed."""
    models, today = args.cheap_models, dt.date.today()
    tomorrow, n = today + dt.timedelta(days=1), len(series)
    load_store(url, series, deadline=today)
    seed = timed_refresh(url, args, models, "--as-of", str(today))
    print(f"[{kind}] incremental refresh at N = {n:,} (models {models}, {args.workers} workers); seed refresh "
          f"{seed['seconds']:.1f} s = {n / seed['seconds']:.1f} series/s, {refitted(run_summary(url))}, {mb(seed)}")
    changed = one_percent_new(url, series)
    grown = timed_refresh(url, args, models, "--as-of", str(today))
    run = run_summary(url)["run"]
    fitted = fitted_in(url, run["id"])
    exact = sorted(fitted["series_key"]) == sorted(changed)
    print(f"[{kind}]   (a) {len(changed)} series (1 %) got a new observation: {grown['seconds']:.1f} s (aim: at most "
          f"120 s), {refitted(run_summary(url))}; refitted exactly the changed series: {'yes' if exact else 'NO'}; "
          f"{mb(grown)}")
    if default_cost is not None:  # measured by the refresh part of this same run
        estimate = grown["seconds"] - fitted["seconds"].fillna(0).sum() / args.workers + len(changed) * default_cost / args.workers
        print(f"[{kind}]       with the default models (the refresh part above: {default_cost:.2f} worker-s per "
              f"series), (a) would take about {estimate:.0f} s: its time without its own fits, plus "
              f"{len(changed)} x {default_cost:.2f} s over {args.workers} workers (an estimate, not a run; an upper "
              "one: those are full fits, and a refit that reuses its stored model choice runs only the final fit)")
    else:
        print(f"[{kind}]       the default models' cost per refitted series was not measured in this run "
              "(add --parts refresh, without --models, e.g. with --refresh-n 20)")
    day = timed_refresh(url, args, models, "--as-of", str(tomorrow))
    before, after, reassessed = day_checks(url, tomorrow)
    print(f"[{kind}]   (b) a new day (--as-of {tomorrow}), no data change: {day['seconds']:.1f} s, "
          f"{refitted(run_summary(url))}; every target re-assessed on {tomorrow}: {'yes' if reassessed else 'NO'} "
          f"(targets due {today}: {before} the day before, {after} now); {mb(day)}")
    return exact and reassessed and run_summary(url)["run"]["series_refitted"] == 0


def day_checks(url: str, as_of: dt.date) -> tuple[dict, dict, bool]:
    """The latest run against the one before: statuses of the targets before and after, and
    whether the latest run holds an assessment of every target, made on `as_of` (it says so
    in its parameters, and no target due before it is still ahead)."""
    engine = db.make_engine(url)
    with engine.connect() as conn:
        complete = read.complete_runs(conn)["id"].tolist()
        run = read.get_run(conn, complete[-1])
        now, then = (read.assessments_frame(conn, r) for r in complete[-2:][::-1])
        targets = read.targets_frame(conn)
    engine.dispose()
    counts = [frame["status"].value_counts().sort_index().to_dict() for frame in (then, now)]
    every = sorted(now["target_id"]) == sorted(targets["target_id"])
    moved = not now[pd.to_datetime(now["deadline"]) < pd.Timestamp(as_of)]["status"].isin(AHEAD).any()
    return *counts, every and moved and json.loads(run["params"])["as_of"] == str(as_of)


def run(args, parts: set[str]) -> int:
    """The parts `refresh`, `rss` and `incremental` (in that order), SQLite first."""
    kinds = ([] if args.no_sqlite else ["sqlite"]) + (["postgresql"] if args.pg and not args.no_pg else [])
    small = synthetic_series(args.refresh_n or args.n) if "refresh" in parts else {}
    series = synthetic_series(args.n) if "incremental" in parts else {}
    ok, default_cost, loop_rates = True, {}, None
    if "refresh" in parts:
        print(f"refresh benchmark: {len(small)} synthetic series (seed {SEED}): {describe(small)}")
        loop_rates = bench_prophet_loop(small) if not args.skip_prophet else None
        if args.profile_series:
            profile_fits(small, args.profile_series, args.models)
    with tempfile.TemporaryDirectory() as folder:
        for kind in kinds:
            if "refresh" in parts:
                with fresh_database(kind, args.pg, Path(folder)) as url:
                    cost, reused_ok = bench_database(kind, url, small, args, loop_rates)
                    ok &= reused_ok
                    default_cost[kind] = cost if args.models is None else None  # the default models
            if "rss" in parts:
                bench_rss(kind, Path(folder), args)
            if "incremental" in parts:
                print(f"incremental benchmark: {args.n:,} synthetic series (seed {SEED}): {describe(series)}")
                with fresh_database(kind, args.pg, Path(folder)) as url:
                    ok &= bench_incremental(kind, url, series, args, default_cost.get(kind))
    return 0 if ok else 1
