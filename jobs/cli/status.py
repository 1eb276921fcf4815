"""`domshare status`: what the store holds, per series freshness, the latest run."""
from __future__ import annotations

import json

from sqlalchemy import and_, func, select

from jobs.cli._table import format_table, minute
from jobs.periods import period_label
from jobs.store import db, schema

NAME = "status"
HELP = "Show counts of series, observations, policies, targets and runs, and per-series freshness."
EXAMPLES = [
    "domshare status",
    "domshare status --json",
    "domshare status --db postgresql://user@localhost/domshare --json",
]


def add_arguments(parser) -> None:
    parser.add_argument("--json", action="store_true", help="print machine-readable JSON")


def collect_status(engine) -> dict:
    """Counts and freshness; keys `series`, `observations`, `policies`, `targets`, `runs`,
    `targets_with_probability`, `targets_no_data` are an interface."""
    db.require_schema(engine)
    with engine.connect() as conn:
        def count(table, *where):
            return conn.execute(select(func.count()).select_from(table).where(*where)).scalar_one()

        obs, series = schema.observations, schema.series
        described = (series.c.key, series.c.kind, series.c.source, series.c.publisher, series.c.frequency)
        per_series = conn.execute(
            select(*described, func.count(obs.c.id).label("n"), func.min(obs.c.date).label("first"),
                   func.max(obs.c.date).label("last"))
            .select_from(series.outerjoin(obs, obs.c.series_key == series.c.key))
            .group_by(*described)
            .order_by(series.c.key)
        ).all()
        newest = select(obs.c.series_key, func.max(obs.c.date).label("date")).group_by(obs.c.series_key).subquery()
        last_period_type = dict(conn.execute(
            select(obs.c.series_key, obs.c.period_type)
            .join(newest, and_(obs.c.series_key == newest.c.series_key, obs.c.date == newest.c.date))).all())
        runs = schema.forecast_runs
        latest = conn.execute(
            select(runs).where(runs.c.status == "complete").order_by(runs.c.id.desc()).limit(1)
        ).mappings().first()
        assessed = schema.target_assessments
        this_run = assessed.c.run_id == (latest["id"] if latest else None)
        last_pull = conn.execute(
            select(schema.pulls).order_by(schema.pulls.c.id.desc()).limit(1)
        ).mappings().first()
        return {
            "database": engine.url.render_as_string(hide_password=True),
            "schema_revision": db.current_revision(engine),
            "series": len(per_series),
            "observations": count(obs),
            "policies": count(schema.policies),
            "targets": count(schema.targets),
            "runs": count(runs, runs.c.status == "complete"),
            # of the latest complete run (0 before the first run)
            "targets_with_probability": count(assessed, this_run, assessed.c.probability_by_deadline.is_not(None)),
            "targets_no_data": count(assessed, this_run, assessed.c.status == "no_data"),
            "latest_run": None if latest is None else {
                "id": latest["id"],
                "started_at": _iso(latest["started_at"]),
                "finished_at": _iso(latest["finished_at"]),
                "input_hash": latest["input_hash"],
                # how many series the run fitted, and carried over unchanged (None before 0005)
                "series_refitted": latest["series_refitted"],
                "series_carried": latest["series_carried"],
                # of the refitted, how many reused their stored model choice (None before 0007)
                "series_choice_reused": latest["series_choice_reused"],
                # of those, how many updated a stored Prophet posterior instead of a new NUTS chain (0008)
                "series_posterior_updated": latest["series_posterior_updated"],
            },
            "last_pull": None if last_pull is None else {
                "source": last_pull["source"], "status": last_pull["status"],
                "finished_at": _iso(last_pull["finished_at"]),
            },
            "series_detail": [
                {"key": s.key, "kind": s.kind, "observations": s.n, "first_date": _iso(s.first),
                 "last_date": _iso(s.last), "source": s.source,
                 # the period the last date stands for (2021, 2021-Q4, 2021-06): the date is its first day
                 "last_period": period_label(s.last, last_period_type.get(s.key), s.frequency),
                 "publisher": s.publisher}
                for s in per_series
            ],
        }


def _iso(value) -> str | None:
    return None if value is None else value.isoformat()


def run(args, settings) -> int:
    engine = db.make_engine(settings.db_url)
    status = collect_status(engine)
    if args.json:
        print(json.dumps(status, indent=2, ensure_ascii=False))
        return 0
    print(f"database      {status['database']} (schema {status['schema_revision']})")
    for key in ("series", "observations", "policies", "targets", "runs"):
        print(f"{key:<13} {status[key]}")
    if status["latest_run"]:
        print(f"{'':<13} latest run: {status['targets_with_probability']} targets with a probability, "
              f"{status['targets_no_data']} with no data")
    latest = status["latest_run"]
    print("latest run    " + ("none yet: run `domshare refresh`" if latest is None
                             else f"#{latest['id']} finished {minute(latest['finished_at'])} UTC"))
    if status["last_pull"]:
        pull = status["last_pull"]
        print(f"last pull     {pull['source']}: {pull['status']} at {minute(pull['finished_at'])} UTC")
    if status["series_detail"]:
        print()
        rows = [(s["key"], str(s["observations"]), s["last_period"] or "-", s["publisher"] or "-", s["source"])
                for s in status["series_detail"]]
        print(format_table(("series", "obs", "last period", "publisher", "source"), rows, right=(1,)))
    return 0
