"""`domshare status`: what the store holds, per series freshness, the latest run."""
from __future__ import annotations

import json

from sqlalchemy import func, select

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
    """Counts and freshness; keys `series`, `observations`, `policies`, `targets`, `runs` are an interface."""
    db.require_schema(engine)
    with engine.connect() as conn:
        def count(table, *where):
            return conn.execute(select(func.count()).select_from(table).where(*where)).scalar_one()

        obs = schema.observations
        per_series = conn.execute(
            select(schema.series.c.key, schema.series.c.kind, schema.series.c.source,
                   func.count(obs.c.id), func.min(obs.c.date), func.max(obs.c.date))
            .select_from(schema.series.outerjoin(obs, obs.c.series_key == schema.series.c.key))
            .group_by(schema.series.c.key, schema.series.c.kind, schema.series.c.source)
            .order_by(schema.series.c.key)
        ).all()
        runs = schema.forecast_runs
        latest = conn.execute(
            select(runs).where(runs.c.status == "complete").order_by(runs.c.id.desc()).limit(1)
        ).mappings().first()
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
            "latest_run": None if latest is None else {
                "id": latest["id"],
                "started_at": _iso(latest["started_at"]),
                "finished_at": _iso(latest["finished_at"]),
                "input_hash": latest["input_hash"],
            },
            "last_pull": None if last_pull is None else {
                "source": last_pull["source"], "status": last_pull["status"],
                "finished_at": _iso(last_pull["finished_at"]),
            },
            "series_detail": [
                {"key": key, "kind": kind, "observations": n, "first_date": _iso(first),
                 "last_date": _iso(last), "source": source}
                for key, kind, source, n, first, last in per_series
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
    latest = status["latest_run"]
    print("latest run    " + ("none yet: run `domshare refresh`" if latest is None
                             else f"#{latest['id']} finished {latest['finished_at']}"))
    if status["last_pull"]:
        pull = status["last_pull"]
        print(f"last pull     {pull['source']}: {pull['status']} at {pull['finished_at']}")
    if status["series_detail"]:
        print()
        width = max(len(s["key"]) for s in status["series_detail"])
        print(f"{'series':<{width}}  {'obs':>5}  {'last':<10}  source")
        for s in status["series_detail"]:
            print(f"{s['key']:<{width}}  {s['observations']:>5}  {s['last_date'] or '-':<10}  {s['source']}")
    return 0
