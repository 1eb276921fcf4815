"""The scheduler process: APScheduler 3.x, jobs persisted in the project's own database.

Jobs (ids as shown by `domshare jobs`):
    pull:<source>   one per enabled source, on the source's schedule
    refresh         the forecast refresh, on [scheduler].refresh_schedule
    refresh:after-pull   a one-off refresh queued by any pull that changed observations
    export          the export to <export dir>/latest (atomic swap) + <export dir>/<YYYY-MM-DD>

Refreshes run on an executor of their own (one thread), so pulls and exports never wait
behind a long refresh; everything else runs one at a time on the default executor. A refresh
that finds the refresh lease held (a `domshare refresh`, another scheduler) is `skipped`.
Every run is recorded in `job_runs` by listeners (ok | failed | skipped | missed).
Job functions are module-level and take only plain values (strings, numbers, lists,
dicts), because the SQLAlchemyJobStore pickles them into the job table. The database URL
is never one of them (it may carry a password): a job runs against the database of the
process that runs it, the one whose job table holds it (`bind`). Each takes a database lease named
after its job first (jobs.leases), so a second scheduler on the same database never runs
it at the same time.
"""
from __future__ import annotations

import datetime as dt
import logging
import signal
import threading
import time
import traceback
from contextlib import ExitStack, contextmanager
from pathlib import Path

from apscheduler.events import (
    EVENT_JOB_ERROR, EVENT_JOB_EXECUTED, EVENT_JOB_MAX_INSTANCES, EVENT_JOB_MISSED,
    EVENT_SCHEDULER_START,
)
from apscheduler.executors.pool import ThreadPoolExecutor
from apscheduler.jobstores.sqlalchemy import SQLAlchemyJobStore
from apscheduler.schedulers.blocking import BlockingScheduler
from sqlalchemy import Engine, insert
from sqlalchemy.exc import DBAPIError

from jobs import leases
from jobs.errors import AlreadyRunning, InternalError
from jobs.sources.config import Config, load_config, make_trigger
from jobs.store import schema
from jobs.store.db import make_engine, require_schema, transaction, utcnow

log = logging.getLogger(__name__)

JOBSTORE_TABLE = "apscheduler_jobs"
REFRESH_AFTER_PULL = "refresh:after-pull"
REFRESH_EXECUTOR = "refresh"
LEASE_TTL_SECONDS = leases.DEFAULT_TTL_SECONDS
LEASE_HELD = "lease held by another process (another scheduler, or the same job run by hand)"

# The scheduler running in this process (set by `run`), so a pull job can queue a refresh.
_current: BlockingScheduler | None = None
_stopping = threading.Event()
_bound: dict[str, Engine] = {}  # {url: engine} of the one database this process schedules on


def bind(db_url: str) -> None:
    """Make `db_url` the database the job functions of this process run against
    (build_scheduler does it: the database whose job table holds the jobs)."""
    if db_url not in _bound:
        for engine in _bound.values():
            engine.dispose()
        _bound.clear()
        _bound[db_url] = make_engine(db_url)


def _engine() -> Engine:
    if not _bound:
        raise InternalError("a scheduler job ran before jobs.scheduler.bind named its database")
    return next(iter(_bound.values()))


@contextmanager
def _leased(name: str, hold_seconds: float):
    """Yield the engine if this process got the job's lease, else None (skip the run)."""
    with ExitStack() as stack:
        try:
            stack.enter_context(leases.exclusive(_engine(), name, ttl_seconds=LEASE_TTL_SECONDS,
                                                 hold_seconds=hold_seconds))
        except AlreadyRunning:
            log.info("%s: another process holds the lease; skipping this run", name)
            yield None
            return
        yield _engine()


def _data_dir() -> Path:
    """The data folder (DOMSHARE_DATA_DIR or the bundled one): local source files must lie in it."""
    from jobs.settings import from_environment

    return from_environment().data_dir


def _dask_address() -> str | None:
    """DOMSHARE_DASK_ADDRESS, read when the job runs (not stored in its arguments): when set,
    the refresh's fits go to that Dask cluster."""
    from jobs.settings import from_environment

    return from_environment().dask_address


def _outcome(started: dt.datetime, outcome: str, error: str | None = None, **extra) -> dict:
    return {"started_at": started, "outcome": outcome, "error": error, **extra}


# ---- job functions (module-level, picklable arguments) ------------------------------

def pull_job(source_name: str, sources_path: str, refresh_args: list,
             hold_seconds: float, contact: str | None = None) -> dict:
    from jobs.pull import lease_name, run_pull

    started = utcnow()
    with _leased(lease_name(source_name), hold_seconds) as engine:
        if engine is None:
            return _outcome(started, "skipped", LEASE_HELD)
        source = load_config(Path(sources_path), _data_dir()).source(source_name)
        result = run_pull(engine, source, contact=contact)
    log.info("pull %s: %s (+%d ~%d)%s", source_name, result.status, result.rows_added,
             result.rows_changed, f" {result.error_kind}: {result.error}" if result.error else "")
    if result.data_changed:
        queue_refresh(refresh_args)
    if result.status == "failed":
        return _outcome(started, "failed", f"{result.error_kind}: {result.error}")
    return _outcome(started, "ok", None, pull_status=result.status)


def queue_refresh(refresh_args: list) -> None:
    """Ask this process's scheduler for a refresh now (one pending at most)."""
    if _current is None:
        return
    if _stopping.is_set():
        log.info("observations changed but the scheduler is stopping: the next scheduled refresh will fit them")
        return
    # From another thread: during shutdown the scheduler holds its job-store lock while it
    # waits for this very job to end, so adding a job here could deadlock.
    threading.Thread(target=_current.add_job, daemon=True, kwargs=dict(
        func=refresh_job, trigger="date", run_date=utcnow(), id=REFRESH_AFTER_PULL,
        name="forecast refresh after new data", args=refresh_args, replace_existing=True,
        executor=REFRESH_EXECUTOR,
        max_instances=2)).start()  # one may run while the next waits (for data that came during it)
    log.info("observations changed: forecast refresh queued")


def refresh_job(hold_seconds: float, options: dict | None = None, sources_path: str | None = None) -> dict:
    """`options`: engine settings (specs, seed, horizon, mcmc_samples) and workers;
    `sources_path`: the file whose [alerts] table sets the alert thresholds and webhooks."""
    from forecast.engine import EngineConfig
    from jobs.refresh import refresh

    options = dict(options or {})
    workers = int(options.pop("workers", 1))
    if "specs" in options:
        options["specs"] = tuple(options["specs"])
    started = utcnow()
    alerts = load_config(Path(sources_path), _data_dir()).alerts if sources_path else None
    address = _dask_address()
    try:  # refresh() takes the refresh lease itself and renews it while it runs
        outcome = refresh(_engine(), EngineConfig(**options), workers=workers, trigger="scheduler",
                          progress=False, alerts=alerts, hold_seconds=hold_seconds,
                          backend="dask" if address else "local", scheduler_address=address)
    except AlreadyRunning:
        log.info("refresh: another process holds the lease; skipping this run")
        return _outcome(started, "skipped", LEASE_HELD)
    if outcome.failures:
        return _outcome(started, "failed", f"run {outcome.run_id}: {len(outcome.failures)} series failed: "
                        + "; ".join(f"{k}: {v}" for k, v in sorted(outcome.failures.items())))
    return _outcome(started, "ok", None, run_id=outcome.run_id, refitted=outcome.refitted)


def export_job(export_dir: str, hold_seconds: float) -> dict:
    from jobs.scheduled_export import export_latest

    started = utcnow()
    with _leased("export", hold_seconds) as engine:
        if engine is None:
            return _outcome(started, "skipped", LEASE_HELD)
        folder = export_latest(engine, Path(export_dir))
    return _outcome(started, "ok", None, folder=str(folder))


# ---- bookkeeping ---------------------------------------------------------------------

def _record_run(job: str, started, outcome: str, error: str | None) -> None:
    try:
        with transaction(_engine()) as conn:
            conn.execute(insert(schema.job_runs).values(
                job=job, started_at=started, finished_at=utcnow(), outcome=outcome,
                error=(error or None) and error[:4000], scheduler=leases.process_owner()))
    except Exception:  # the store may be down; the run's own outcome is logged anyway
        log.exception("could not record the run of %s in job_runs", job)


def _listener():
    def on_event(event) -> None:
        if event.code == EVENT_JOB_EXECUTED:
            info = event.retval if isinstance(event.retval, dict) else {}
            _record_run(event.job_id, info.get("started_at") or event.scheduled_run_time,
                        info.get("outcome", "ok"), info.get("error"))
        elif event.code == EVENT_JOB_ERROR:
            error = "".join(traceback.format_exception_only(type(event.exception), event.exception)).strip()
            log.error("job %s failed: %s", event.job_id, error)
            _record_run(event.job_id, event.scheduled_run_time, "failed", error)
        elif event.code == EVENT_JOB_MISSED:
            log.warning("job %s missed its run at %s (scheduler down or busy past the grace time)",
                        event.job_id, event.scheduled_run_time)
            _record_run(event.job_id, event.scheduled_run_time, "missed",
                        f"missed run scheduled at {event.scheduled_run_time}")
        elif event.code == EVENT_JOB_MAX_INSTANCES:
            log.warning("job %s is still running; run at %s skipped", event.job_id, event.scheduled_run_time)
            _record_run(event.job_id, event.scheduled_run_time, "skipped", "previous run still running")

    return on_event


def desired_jobs(config: Config, export_dir: Path, refresh_options: dict,
                 contact: str | None = None) -> list[dict]:
    """The jobs the config asks for, as add_job keyword arguments (`contact`: settings.contact,
    for the pulls' User-Agent). No database URL among them: see the module's docstring."""
    hold = config.scheduler.lease_hold_seconds
    grace = config.scheduler.misfire_grace_time
    refresh_args = [hold, refresh_options, str(config.path.resolve())]
    jobs = [
        dict(func=pull_job, trigger=make_trigger(s.schedule), id=f"pull:{s.name}",
             name=f"pull {s.name} ({s.kind})",
             args=[s.name, str(config.path.resolve()), refresh_args, hold, contact],
             misfire_grace_time=grace)
        for s in config.enabled
    ]
    jobs.append(dict(func=refresh_job, trigger=make_trigger(config.scheduler.refresh_schedule),
                     id="refresh", name="forecast refresh", args=refresh_args, misfire_grace_time=grace,
                     executor=REFRESH_EXECUTOR))
    jobs.append(dict(func=export_job, trigger=make_trigger(config.scheduler.export_schedule),
                     id="export", name=f"export to {export_dir}",
                     args=[str(export_dir.resolve()), hold], misfire_grace_time=grace))
    return jobs


def _job_store(engine: Engine) -> SQLAlchemyJobStore:
    """APScheduler's table in our database, created up front: two schedulers starting at
    once would otherwise both try CREATE TABLE and one would crash."""
    store = SQLAlchemyJobStore(engine=engine, tablename=JOBSTORE_TABLE)
    for attempt in range(5):
        try:
            store.jobs_t.create(engine, checkfirst=True)
            return store
        except DBAPIError:  # lost the race: the other process created it meanwhile
            if attempt == 4:
                raise
            time.sleep(0.2 * (attempt + 1))
    return store


def sync_jobs(scheduler, wanted: list[dict], origin: Path) -> None:
    """Make the stored jobs match the config once the job store is open.

    A job whose trigger and arguments are unchanged keeps its stored next run time, so
    runs that fell due while no scheduler was running are coalesced into one late run,
    or, past misfire_grace_time, reported as missed (logged and recorded in job_runs).
    """
    keep = {job["id"] for job in wanted} | {REFRESH_AFTER_PULL}
    for job in scheduler.get_jobs():
        if job.id not in keep:  # a source since disabled or removed
            log.info("removing job %s (no longer in %s)", job.id, origin)
            job.remove()
    for spec in wanted:
        stored = scheduler.get_job(spec["id"])
        if stored is None:
            scheduler.add_job(replace_existing=True, **spec)
        elif (str(stored.trigger) != str(spec["trigger"]) or list(stored.args) != list(spec["args"])
              or stored.misfire_grace_time != spec["misfire_grace_time"]
              or stored.executor != spec.get("executor", "default")):
            log.info("job %s changed in %s: rescheduled", spec["id"], origin)
            scheduler.add_job(replace_existing=True, **spec)
        elif stored.name != spec["name"]:
            stored.modify(name=spec["name"])
    pending, refresh_args = scheduler.get_job(REFRESH_AFTER_PULL), next(
        spec["args"] for spec in wanted if spec["id"] == "refresh")
    if pending is not None and list(pending.args) != list(refresh_args):  # queued with other (older) args
        pending.modify(args=refresh_args)
    for job in scheduler.get_jobs():
        log.info("  %-28s %-34s next run %s", job.id, job.trigger, job.next_run_time)


def build_scheduler(config: Config, db_url: str, export_dir: Path,
                    refresh_options: dict | None = None, contact: str | None = None) -> BlockingScheduler:
    bind(db_url)
    engine = _engine()
    scheduler = BlockingScheduler(
        jobstores={"default": _job_store(engine)},
        executors={"default": ThreadPoolExecutor(max_workers=1),  # pulls and exports, one at a time
                   REFRESH_EXECUTOR: ThreadPoolExecutor(max_workers=1)},  # refreshes, beside them
        job_defaults={"coalesce": True, "max_instances": 1,
                      "misfire_grace_time": config.scheduler.misfire_grace_time},
        timezone=dt.timezone.utc,
    )
    refresh_options = {**(refresh_options or {}), **config.scheduler.refresh_options}  # the file wins
    wanted = desired_jobs(config, export_dir, refresh_options, contact)

    def sync(_event) -> None:
        sync_jobs(scheduler, wanted, config.path)

    scheduler.add_listener(sync, EVENT_SCHEDULER_START)
    scheduler.add_listener(_listener(), EVENT_JOB_EXECUTED | EVENT_JOB_ERROR
                           | EVENT_JOB_MISSED | EVENT_JOB_MAX_INSTANCES)
    return scheduler


def run(db_url: str, sources_path: Path, export_dir: Path, refresh_options: dict | None = None,
        contact: str | None = None) -> None:
    """Run the scheduler in the foreground until SIGTERM/SIGINT (then finish the running job)."""
    global _current
    bind(db_url)
    require_schema(_engine())
    config = load_config(sources_path, _data_dir())
    scheduler = build_scheduler(config, db_url, Path(export_dir).resolve(), refresh_options, contact)
    _current = scheduler
    _stopping.clear()

    def stop(signum, _frame) -> None:
        if _stopping.is_set():
            return
        _stopping.set()
        log.info("%s received: stopping after the running job", signal.Signals(signum).name)
        scheduler.pause()  # no new runs start from here on
        threading.Thread(target=scheduler.shutdown, kwargs={"wait": True}, daemon=False).start()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    log.info("scheduler %s starting on %s; Ctrl-C to stop", leases.process_owner(), config.path)
    try:
        scheduler.start()
    finally:
        _current = None
        for engine in _bound.values():
            engine.dispose()
        log.info("scheduler stopped")
