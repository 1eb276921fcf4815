"""`domshare jobs`: each scheduled job, its schedule, next run time and last outcome."""
from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

from sqlalchemy import MetaData, Table, func, inspect, select

from jobs.cli._table import format_table
from jobs.store import db, schema

NAME = "jobs"
HELP = "List the scheduler's jobs: schedule, next run time and the last run's outcome."
EXAMPLES = [
    "domshare jobs",
    "domshare jobs --json",
    "domshare jobs --sources my_sources.toml",
]


def add_arguments(parser) -> None:
    parser.add_argument("--sources", metavar="FILE", type=Path, default=None,
                        help="sources TOML (default: $DOMSHARE_SOURCES or data/sources.toml)")
    parser.add_argument("--json", action="store_true", help="print machine-readable JSON")


def _utc(value):
    if value is None:
        return None
    return value.replace(tzinfo=dt.timezone.utc) if value.tzinfo is None else value


def collect_jobs(engine, config) -> list[dict]:
    """Configured jobs joined with the job store (next run) and job_runs/pulls (last outcome)."""
    from jobs.scheduler import JOBSTORE_TABLE, REFRESH_AFTER_PULL
    from jobs.sources.config import make_trigger

    now = dt.datetime.now(dt.timezone.utc)
    configured = [(f"pull:{s.name}", s.schedule, s.name) for s in config.enabled]
    configured += [("refresh", config.scheduler.refresh_schedule, None),
                   ("export", config.scheduler.export_schedule, None)]
    with engine.connect() as conn:
        stored = {}
        if inspect(conn).has_table(JOBSTORE_TABLE):
            store = Table(JOBSTORE_TABLE, MetaData(), autoload_with=conn)
            stored = {row.id: row.next_run_time for row in conn.execute(select(store.c.id, store.c.next_run_time))}
        runs = schema.job_runs
        newest = select(runs.c.job, func.max(runs.c.id).label("id")).group_by(runs.c.job).subquery()
        last_runs = {row["job"]: row for row in conn.execute(
            select(runs).join(newest, runs.c.id == newest.c.id)).mappings()}
        pulls = schema.pulls
        newest_pull = select(pulls.c.source, func.max(pulls.c.id).label("id")).group_by(pulls.c.source).subquery()
        last_pulls = {row["source"]: row for row in conn.execute(
            select(pulls).join(newest_pull, pulls.c.id == newest_pull.c.id)).mappings()}
    if REFRESH_AFTER_PULL in stored:
        configured.append((REFRESH_AFTER_PULL, "once, queued by a pull that changed data", None))

    out = []
    for job_id, schedule, source in configured:
        if job_id in stored:
            epoch = stored[job_id]
            next_run = dt.datetime.fromtimestamp(epoch, dt.timezone.utc) if epoch is not None else None
        else:  # the scheduler has not stored this job yet: when it would run
            next_run = make_trigger(schedule).get_next_fire_time(None, now) if job_id != REFRESH_AFTER_PULL else None
        last = last_runs.get(job_id)
        pull = last_pulls.get(source) if source else None
        out.append({
            "job": job_id, "schedule": schedule, "scheduled": job_id in stored,
            "next_run_time": next_run.isoformat() if next_run else None,
            "last_outcome": last["outcome"] if last else None,
            "last_finished_at": _utc(last["finished_at"]).isoformat() if last else None,
            "last_error": last["error"] if last else None,
            "last_pull": None if pull is None else {
                "status": pull["status"], "finished_at": _utc(pull["finished_at"]).isoformat()
                if pull["finished_at"] else None, "rows_added": pull["rows_added"],
                "rows_changed": pull["rows_changed"], "error_kind": pull["error_kind"]},
        })
    return out


def run(args, settings) -> int:
    from jobs.sources.config import load_config

    settings = settings.with_(sources_file=args.sources)
    config = load_config(settings.sources_path, settings.data_dir)
    engine = db.make_engine(settings.db_url)
    db.require_schema(engine)
    jobs = collect_jobs(engine, config)
    if args.json:
        print(json.dumps(jobs, indent=2, ensure_ascii=False))
        return 0
    if not any(j["scheduled"] for j in jobs):
        print("(the scheduler has not run on this database yet: next runs are computed from the schedules)")
    head = ("job", "schedule", "next run (UTC)", "last outcome")
    rows = []
    for j in jobs:
        last = j["last_outcome"] or "-"
        if j["last_pull"]:
            last += f" / pull {j['last_pull']['status']}"
        if j["last_error"]:
            last += f" ({j['last_error'].splitlines()[0][:80]})"
        nxt = (j["next_run_time"] or "-")[:19].replace("T", " ")
        rows.append((j["job"], j["schedule"], nxt, last))
    print(format_table(head, rows))
    return 0
