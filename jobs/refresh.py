"""`refresh`: fit the domestic-share series that are new or changed in a process pool, carry
the others over from the latest run (jobs.incremental), and store one forecast run.

The run row is inserted as 'running', results are written in batches as they arrive, and
the run flips to 'complete' at the end; until then readers keep seeing the previous
complete run, so a crash or a kill never leaves a half-written run current.

One refresh at a time per database: each holds the `refresh` lease (jobs.leases), renewed
by a heartbeat thread while it runs, so however long it takes no second one starts; a
holder that dies stops renewing, and its lease is free within LEASE_TTL_SECONDS (at once
when it ran on this machine). A run it left 'running' is marked 'abandoned' by the next
refresh, and its pool workers (with their CmdStan children) end when it dies.
"""
from __future__ import annotations

import itertools
from collections import Counter
import json
import logging
import shutil
import sys
import threading
import time
import traceback
from contextlib import ExitStack, closing, contextmanager
from dataclasses import dataclass, replace
from typing import Iterator

import pandas as pd
from sqlalchemy.exc import SQLAlchemyError
from tqdm import tqdm

from forecast.choice import StoredChoice
from forecast.engine import EngineConfig, SeriesResult, forecast_series
from forecast.frames import SERIES, TARGET_INPUT_COLUMNS, InvalidHistory, validate_history
from forecast.models import CannotFit
from forecast.registry import UnknownModel
from forecast.targets import assess_targets
from jobs import alerts as alerting, backends, fingerprints, incremental, leases
from jobs.fingerprints import code_version
from jobs.errors import AlreadyRunning, ConfigError, InternalError
from jobs.store import db, read, runs

log = logging.getLogger(__name__)

LEASE = "refresh"
LEASE_TTL_SECONDS = 120.0  # renewed every quarter of it: a holder dead elsewhere blocks refreshes this long at most
FIT_WINDOW_PER_SLOT = 4  # fits submitted ahead per worker slot: workers stay busy, memory stays flat
WRITE_BATCH_SERIES, WRITE_BATCH_SECONDS = 25, 2.0  # results are written when either is reached


@dataclass(frozen=True)
class RefreshOutcome:
    run_id: int | None  # None when nothing was refitted
    refitted: bool
    statuses: dict[str, str]
    failures: dict[str, str]
    seconds: float = 0.0
    complete: bool = True  # False: the run ended 'failed' and the previous one stays current
    abandoned: tuple[int, ...] = ()  # runs left 'running' by a dead refresh, marked 'abandoned' now
    refitted_series: int = 0  # fitted in this run
    carried_series: int = 0  # carried over from the previous run without a fit (then re-assessed)
    choice_reused_series: int = 0  # of the refitted: with their stored model choice (final fit only)
    posterior_updated_series: int = 0  # of those: a stored posterior updated, not sampled again


def fit_one(series: str, history: pd.DataFrame, targets: pd.DataFrame, config: EngineConfig,
            frequency: str | None = None, bounds: pd.DataFrame | None = None, policy_dates: dict | None = None,
            choice: StoredChoice | None = None, posteriors: dict[str, bytes] | None = None):
    """Pool task (module level, so it pickles under spawn). A documented failure of this
    series is a 'failed' result carrying its error; anything else is our bug and fails the
    run (InternalError, exit 70). Also returns this worker's cmdstanpy temp dir."""
    try:
        clean = validate_history(history.assign(**{SERIES: series}))
        result = forecast_series(series, clean, targets, config, frequency, bounds, policy_dates, choice, posteriors)
    except (CannotFit, InvalidHistory, UnknownModel) as exc:
        log.debug("series %s failed:\n%s", series, traceback.format_exc())
        result = SeriesResult(series, "failed", n_obs=len(history), error=f"{type(exc).__name__}: {exc}")
        result.targets = assess_targets(targets, None, config.as_of)  # no usable data: no_data
    except Exception as exc:  # never a quiet per-series 'failed' with the run ok
        raise InternalError(f"fitting series {series}: {type(exc).__name__}: {exc}") from exc
    cmdstanpy = sys.modules.get("cmdstanpy")
    return result, getattr(cmdstanpy, "_TMPDIR", None)


def _unmeasured_targets(targets: pd.DataFrame, in_run: set[str], as_of) -> pd.DataFrame:
    """Targets whose measuring series is not in the run (none, or one with no observations): no_data."""
    missing = targets[~targets[SERIES].isin(in_run) | targets[SERIES].isna()]
    return assess_targets(missing, None, as_of)


def _fit_all(pool: backends.Backend, tasks: Iterator[tuple], total: int, label: str, progress: bool):
    """Yield (SeriesResult, worker's cmdstanpy temp dir, whether fit_one returned) per task
    (fit_one's arguments) as the backend finishes them. At most FIT_WINDOW_PER_SLOT tasks per
    worker slot are submitted at a time, and a result is dropped once yielded: what this
    process holds does not grow with the number of series."""
    tasks, pending = iter(tasks), {}
    bar = tqdm(total=total, desc=label, unit="series", disable=None if progress else True)  # None: hidden off a terminal
    try:
        while True:
            for task in itertools.islice(tasks, max(FIT_WINDOW_PER_SLOT * pool.slots - len(pending), 0)):
                pending[pool.submit(fit_one, *task)] = task[0]
            if not pending:
                break
            for future in itertools.islice(pool.as_completed(list(pending)), 1):  # then top the window up
                key = pending.pop(future)
                try:
                    result, tmpdir = future.result()
                    returned = True
                except InternalError:  # fit_one's report of a bug of ours: the run fails
                    raise
                except Exception as exc:  # the worker process itself died
                    result, tmpdir = SeriesResult(key, "failed", error=f"{type(exc).__name__}: {exc}"), None
                    returned = False
                yield result, tmpdir, returned
                bar.set_postfix_str(f"{result.series}: {result.status}")
                bar.update()
    finally:  # after an error or Ctrl-C the queue is dropped: the backend waits only for the fits under way
        bar.close()
        pool.cancel_pending()


class _LeaseHeartbeat(threading.Thread):
    """Renews the refresh lease every quarter of its ttl until stopped. A renewal that fails
    (database unreachable) is retried at the next beat; `check()` raises once another
    process has taken the lease over (it expired: the database was out of reach too long)."""

    def __init__(self, engine, owner: str, ttl_seconds: float):
        super().__init__(name="refresh-lease-heartbeat", daemon=True)
        self.engine, self.owner, self.ttl_seconds = engine, owner, ttl_seconds
        self.lost = False
        self._stopped = threading.Event()

    def run(self) -> None:
        while not self._stopped.wait(self.ttl_seconds / 4):
            try:
                if not leases.acquire(self.engine, LEASE, self.owner, self.ttl_seconds):
                    self.lost = True
                    log.error("the refresh lease was taken over by %s", (leases.holder(self.engine, LEASE) or ("?",))[0])
                    return
            except SQLAlchemyError as exc:
                log.warning("refresh lease not renewed (retrying in %.0fs): %s", self.ttl_seconds / 4, exc)

    def stop(self) -> None:
        self._stopped.set()
        self.join()

    def check(self) -> None:
        if self.lost:
            raise AlreadyRunning("the refresh lease was taken over by another process (it expired: the "
                                 f"database was out of reach for more than {self.ttl_seconds:.0f}s); this run stops")


@contextmanager
def refresh_lease(engine, hold_seconds: float = 0.0, ttl_seconds: float = LEASE_TTL_SECONDS):
    """Hold the refresh lease, kept alive by a heartbeat, for the block (then for
    `hold_seconds` more); else raise AlreadyRunning naming its holder and since when."""
    stack = ExitStack()
    try:
        owner = stack.enter_context(leases.exclusive(engine, LEASE, ttl_seconds=ttl_seconds,
                                                     hold_seconds=hold_seconds))
    except AlreadyRunning:
        raise AlreadyRunning(_held_by(engine)) from None
    with stack:
        beat = _LeaseHeartbeat(engine, owner, ttl_seconds)
        beat.start()
        stack.callback(beat.stop)  # runs before the lease is released
        yield beat


def _held_by(engine) -> str:
    held = leases.holder(engine, LEASE)
    with engine.connect() as conn:
        run = runs.newest_running(conn)
    since = f" since {run['started_at']:%Y-%m-%d %H:%M:%S} UTC, run {run['id']}" if run else ""
    return (f"a refresh is already running (held by {held[0] if held else 'another process'}{since}); "
            "nothing was done")


def refresh(engine, config: EngineConfig, *, series: list[str] | None = None, workers: int = 2,
            force: bool = False, trigger: str = "cli", progress: bool = True,
            alerts: alerting.AlertSettings | None = None, hold_seconds: float = 0.0,
            backend: str = "local", scheduler_address: str | None = None,
            reselect: bool = False) -> RefreshOutcome:
    """Fit and store one run, as the only refresh on this database (AlreadyRunning if another
    runs). `reselect`: the refitted series make a new model choice (by default one whose data
    only changed reuses its stored choice, jobs.incremental); `force` implies it.
    `hold_seconds`: keep the lease that much longer (the scheduler's, see jobs.leases).
    `backend` (jobs.backends) runs the fits; it is opened before anything is written, so one
    that cannot start (a Dask scheduler out of reach) leaves the store as it was."""
    db.require_schema(engine)
    with refresh_lease(engine, hold_seconds) as lease, \
            backends.open_backend(backend, workers, scheduler_address) as pool:
        return _refresh(engine, config, series, pool, force, trigger, progress, alerts, lease, reselect)


def _refresh(engine, config: EngineConfig, series: list[str] | None, pool: backends.Backend, force: bool,
             trigger: str, progress: bool, alerts: alerting.AlertSettings | None,
             lease: _LeaseHeartbeat, reselect: bool = False) -> RefreshOutcome:
    started = time.perf_counter()
    with db.transaction(engine) as conn:
        abandoned = tuple(runs.abandon_running(conn))
    config = replace(config, as_of=config.as_of or str(pd.Timestamp.today().date()))
    with engine.connect() as conn:  # what every series needs; observations are read a chunk of series at a time
        frequencies = read.domestic_series(conn)
        last_date = read.last_observation_date(conn)
        targets = read.targets_frame(conn)
        policy_dates = read.policy_dates(conn)
        previous = read.latest_run(conn)
    unknown = sorted(set(series or []) - set(frequencies))
    if unknown:
        raise ConfigError(f"unknown series: {', '.join(unknown)} (not domestic-share series of the store; "
                          "see `domshare status`)")
    if last_date is not None and pd.Timestamp(config.horizon) <= pd.Timestamp(last_date):
        raise ConfigError(f"--horizon {config.horizon} does not lie after the last observation of any "
                          f"series (the latest is {pd.Timestamp(last_date):%Y-%m-%d})")
    params = {**config.to_dict(), "series": sorted(series) if series else None}
    measured = incremental.series_targets(targets)
    hashed = fingerprints.InputHash()
    with engine.connect() as conn:
        work = incremental.plan_store(conn, sorted(frequencies), frequencies, measured, config,
                                      previous["id"] if previous else None, series, force, policy_dates, hashed,
                                      reselect)
    digest = hashed.hexdigest(targets)
    if previous and not work.refit and previous["input_hash"] == digest \
            and json.loads(previous["params"] or "{}") == json.loads(json.dumps(params, default=str)):
        return RefreshOutcome(None, False, {}, {}, time.perf_counter() - started, abandoned=abandoned)

    with db.transaction(engine) as conn:
        run_id = runs.start_run(conn, code_version=code_version(), params=params,
                                input_hash=digest, seed=config.seed, trigger=trigger)
    statuses, failures, tmpdirs, forecast_count, reused, updated = {}, {}, set(), 0, 0, 0
    carried, in_run = Counter(), set()  # carried-over statuses; measuring series in the run (for no_data)
    tasks = _fit_tasks(engine, work.refit, measured, config, frequencies, policy_dates, work.reuse,
                       targets.iloc[:0][TARGET_INPUT_COLUMNS])
    try:
        for chunk in incremental.chunks(work.carry):  # copied inside the database, then assessed on this run's as_of
            with db.transaction(engine) as conn:
                held = runs.carry_over(conn, previous["id"], run_id, chunk)
                incremental.assess_carried(conn, previous["id"], run_id, held, frequencies, measured, config.as_of)
            carried.update(held.values())
            in_run.update(k for k in held if k in measured)
        # closing(): an error here cancels the queued fits before the run is marked failed
        with closing(_fit_all(pool, tasks, len(work.refit), f"run {run_id}", progress)) as fits:
            batch, flushed = [], time.monotonic()
            for result, tmpdir, returned in fits:
                lease.check()
                tmpdirs.add(tmpdir if pool.local_files else None)
                statuses[result.series] = result.status
                if result.status == "failed":
                    failures[result.series] = result.error
                forecast_count += not result.forecast.empty
                reused += result.choice_reused_from is not None
                updated += any(n for _, n in result.posterior_updates.values())
                batch.append((result, work.keys[result.series] if returned else None))  # no key: refit next time
                if len(batch) >= WRITE_BATCH_SERIES or time.monotonic() - flushed >= WRITE_BATCH_SECONDS:
                    with db.transaction(engine) as conn:  # results are kept as they arrive, a batch at a time
                        runs.write_results(conn, run_id, batch, work.choice_keys)
                    batch, flushed = [], time.monotonic()
            with db.transaction(engine) as conn:
                runs.write_results(conn, run_id, batch, work.choice_keys)
        in_run.update(k for k in statuses if k in measured)
        with db.transaction(engine) as conn:
            runs.write_assessments(conn, run_id, _unmeasured_targets(targets, in_run, config.as_of))
            verdict = _run_verdict(statuses, forecast_count, carried)
            runs.finish_run(conn, run_id, "failed" if verdict else "complete", error=verdict,
                            refitted=len(statuses), carried=carried.total(), choice_reused=reused,
                            posterior_updated=updated)
    except BaseException as exc:
        with db.transaction(engine) as conn:
            runs.finish_run(conn, run_id, "failed", error=f"{type(exc).__name__}: {exc}")
        raise
    finally:
        own = getattr(sys.modules.get("cmdstanpy"), "_TMPDIR", None)  # ours goes at exit
        for tmpdir in tmpdirs - {None, own}:  # spawn workers exit without cmdstanpy's atexit clean-up
            shutil.rmtree(tmpdir, ignore_errors=True)
    if verdict is None:
        alerting.after_run(engine, run_id, alerts)  # never raises: alerting cannot fail a complete run
    return RefreshOutcome(run_id, True, statuses, failures, time.perf_counter() - started,
                          complete=verdict is None, abandoned=abandoned, refitted_series=len(statuses),
                          carried_series=carried.total(), choice_reused_series=reused,
                          posterior_updated_series=updated)


def _fit_tasks(engine, keys: list[str], measured: dict[str, pd.DataFrame], config: EngineConfig,
               frequencies: dict[str, str], policy_dates: dict[str, dict], reuse: dict[str, StoredChoice],
               unassessed: pd.DataFrame) -> Iterator[tuple]:
    """fit_one's arguments for each series to refit (with the stored choice it reuses, if
    any: incremental.Plan.reuse, and the stored posteriors of that choice's models). Its
    observations are read again here, a
    chunk of series at a time as the fit window asks for more (a series whose data changed
    since the plan is fitted on the new data under the planned key: it is refitted next time)."""
    for chunk in incremental.chunks(keys):
        with engine.connect() as conn:
            groups, bounds = incremental.read_inputs(conn, chunk)
            posteriors = read.stored_posteriors(conn, {k: reuse[k].run_id for k in chunk if k in reuse})
        for key in chunk:
            yield (key, groups.get(key, incremental.EMPTY_HISTORY), measured.get(key, unassessed), config,
                   frequencies.get(key), bounds.get(key), policy_dates.get(key), reuse.get(key), posteriors.get(key))


def _run_verdict(statuses: dict[str, str], forecast_count: int, carried: Counter) -> str | None:
    """Why the run must not become current, or None: every series failed (the refitted ones
    and those carried over: `carried` counts their statuses), or refitted series that could
    be forecast produced no forecast."""
    every = len(statuses) + carried.total()
    if statuses and all(s == "failed" for s in statuses.values()) and set(carried) <= {"failed"}:
        return f"every series failed ({every})"
    if "ok" in statuses.values() and forecast_count == 0:
        return "no forecast was produced although some series could be forecast"
    return None


__all__ = ["refresh", "refresh_lease", "fit_one", "code_version", "RefreshOutcome"]
