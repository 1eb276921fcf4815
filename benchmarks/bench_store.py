"""Store writes, each measured against a baseline timed in the same run.

    python3 benchmarks/bench_store.py [--rows 24000] [--series 100] [--import-rows 10000]
                                      [--pg URL | --no-pg] [--no-sqlite]

1. upsert_observations vs a naive loop written here (per row: SELECT the (series, date),
   then INSERT, or INSERT a revision and UPDATE), same frame, each on its own fresh
   database, three passes: first load (all new), the same frame again (all unchanged),
   then 10% of the values revised. After every pass both databases must hold the same
   observations and revisions, or the benchmark stops.
2. `domshare init`'s load of the bundled data: cold (empty schema) vs warm (the second
   run, which must change nothing).
3. `domshare import` of a generated 10k-row file (in process, the real command): first
   import, re-import (no-op) and a file with 1 bad row in 10 (rejected, nothing written),
   against the naive loop writing the same rows.

SQLite is a real file in a temporary folder; PostgreSQL (--pg URL, else
$DOMSHARE_TEST_PG_URL) gets a fresh database per run, dropped at the end.
"""
from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import io
import os
import sys
import tempfile
import time
import uuid
from pathlib import Path

import numpy as np
import pandas as pd
from sqlalchemy import create_engine, func, select, text

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from jobs import cli  # noqa: E402
from jobs.bundled import load_bundled  # noqa: E402
from jobs.errors import InvalidData  # noqa: E402
from jobs.settings import REPO_DATA_DIR  # noqa: E402
from jobs.sources.base import OBSERVATION_COLUMNS  # noqa: E402
from jobs.store import schema, writes  # noqa: E402
from jobs.store.db import make_engine, normalise_url, transaction, upgrade, utcnow  # noqa: E402

MONTH0 = dt.date(2000, 1, 1)


# --- databases ---------------------------------------------------------------------------

@contextlib.contextmanager
def fresh_database(kind: str, pg_url: str | None, folder: Path):
    """URL of an empty database: a new SQLite file, or a new PostgreSQL database."""
    if kind == "sqlite":
        yield f"sqlite:///{folder / f'{uuid.uuid4().hex[:8]}.db'}"
        return
    name = f"domshare_bench_{uuid.uuid4().hex[:12]}"
    admin = create_engine(normalise_url(pg_url), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield pg_url.rsplit("/", 1)[0] + f"/{name}"
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def timed(fn, *args, **kwargs) -> tuple[float, object]:
    started = time.perf_counter()
    out = fn(*args, **kwargs)
    return time.perf_counter() - started, out


# --- 1. observation upserts --------------------------------------------------------------

def month(i: int) -> dt.date:
    return dt.date(MONTH0.year + i // 12, i % 12 + 1, 1)


def observation_frame(n_series: int, n_months: int, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    values = np.clip(np.cumsum(rng.normal(0.003, 0.01, (n_series, n_months)), axis=1) + 0.2, 0, 1)
    rows = [(f"bench_{s:04d}", month(m), float(values[s, m]), "month",
             f"https://example.org/bench/{s}", None)
            for s in range(n_series) for m in range(n_months)]
    return pd.DataFrame(rows, columns=OBSERVATION_COLUMNS)


def revised(frame: pd.DataFrame, share: float = 0.1) -> pd.DataFrame:
    out = frame.copy()
    pick = np.random.default_rng(1).random(len(out)) < share
    out.loc[pick, "value"] = (out.loc[pick, "value"] * 0.9).round(6)
    return out


def naive_upsert(conn, frame: pd.DataFrame, snapshot_id: int) -> writes.UpsertCounts:
    """The baseline: one SELECT per row, then one INSERT, or an INSERT + UPDATE."""
    obs, now = schema.observations, utcnow()
    added = changed = unchanged = 0
    for r in frame.itertuples(index=False):
        old = conn.execute(select(obs.c.id, obs.c.value, obs.c.snapshot_id)
                           .where(obs.c.series_key == r.series_key, obs.c.date == r.date)).first()
        fields = {"period_type": r.period_type, "source_url": r.source_url, "note": r.note}
        if old is None:
            conn.execute(obs.insert().values(series_key=r.series_key, date=r.date, value=r.value,
                                             snapshot_id=snapshot_id, updated_at=now, **fields))
            added += 1
        elif abs(old.value - r.value) > writes.VALUE_TOLERANCE:
            conn.execute(schema.observation_revisions.insert().values(
                series_key=r.series_key, date=r.date, old_value=old.value, old_snapshot_id=old.snapshot_id,
                new_value=r.value, new_snapshot_id=snapshot_id, revised_at=now))
            conn.execute(obs.update().where(obs.c.id == old.id).values(
                value=r.value, snapshot_id=snapshot_id, updated_at=now, **fields))
            changed += 1
        else:
            unchanged += 1
    return writes.UpsertCounts(added, changed, unchanged)


def catalogue(conn, series_keys) -> None:
    writes.upsert_sectors(conn, [{"code": "all", "name": "All sectors"}])
    writes.upsert_technologies(conn, [{"code": "all", "name": "All technologies"}])
    writes.upsert_series(conn, [{"key": k, "sector": "all", "technology": "all", "frequency": "monthly",
                                 "title": k, "source": "benchmark", "origin": "import"} for k in series_keys])


def store_state(engine) -> tuple[list, list]:
    obs, rev = schema.observations, schema.observation_revisions
    with engine.connect() as conn:
        rows = conn.execute(select(obs.c.series_key, obs.c.date, obs.c.value, obs.c.snapshot_id,
                                   obs.c.period_type, obs.c.source_url)
                            .order_by(obs.c.series_key, obs.c.date)).all()
        revisions = conn.execute(select(rev.c.series_key, rev.c.date, rev.c.old_value, rev.c.new_value,
                                        rev.c.old_snapshot_id, rev.c.new_snapshot_id)
                                 .order_by(rev.c.series_key, rev.c.date)).all()
    return rows, revisions


def write_pass(engine, method, frame: pd.DataFrame, label: str) -> tuple[float, writes.UpsertCounts]:
    """One unit of work: a snapshot, then the frame's observations, committed."""
    def unit():
        with transaction(engine) as conn:
            snap = writes.save_snapshot(conn, source="bench", url="https://example.org/bench",
                                        content=label.encode())
            return method(conn, frame, snap)
    return timed(unit)


def bench_upserts(kind: str, url_fast: str, url_naive: str, n_series: int, n_months: int) -> None:
    frame = observation_frame(n_series, n_months)
    passes = [("first load (all new)", frame), ("same frame again", frame),
              ("10% of values revised", revised(frame))]
    engines = {"upsert_observations": make_engine(url_fast), "naive row loop": make_engine(url_naive)}
    methods = {"upsert_observations": writes.upsert_observations, "naive row loop": naive_upsert}
    for engine in engines.values():
        upgrade(engine)
        with transaction(engine) as conn:
            catalogue(conn, frame["series_key"].unique())
    print(f"[{kind}] upsert_observations: {len(frame):,} observations in {n_series} series x {n_months} months")
    print(f"  {'pass':<24}{'upsert_observations':>22}{'naive row loop':>18}{'speed-up':>10}")
    for label, data in passes:
        times, counts = {}, {}
        for name, engine in engines.items():
            times[name], counts[name] = write_pass(engine, methods[name], data, label)
        fast, naive = times["upsert_observations"], times["naive row loop"]
        if counts["upsert_observations"] != counts["naive row loop"] or \
                store_state(engines["upsert_observations"]) != store_state(engines["naive row loop"]):
            raise SystemExit(f"{label}: the two methods disagree: {counts}")
        c = counts["upsert_observations"]
        print(f"  {label:<24}{fast:9.2f} s {len(data) / fast:8,.0f}/s{naive:9.2f} s "
              f"{naive / fast:8.1f} x   ({c.added} added, {c.changed} changed, {c.unchanged} unchanged)")
    for engine in engines.values():
        engine.dispose()


# --- 2. bundled load, cold vs warm -------------------------------------------------------

def bench_bundled(kind: str, url: str) -> str:
    engine = make_engine(url)
    t_schema, _ = timed(upgrade, engine)

    def load():
        with transaction(engine) as conn:
            return load_bundled(conn, REPO_DATA_DIR)
    cold, first = timed(load)
    warm, second = timed(load)
    engine.dispose()
    if second.changed_anything:
        raise SystemExit("the second bundled load changed the database: it must be a no-op")
    n = first.observations.added
    print(f"[{kind}] bundled data ({first.files} files, {n:,} observations, "
          f"{first.policies.added} policies, {first.targets.added} targets)")
    print(f"  schema upgrade (Alembic)  {t_schema:7.2f} s")
    print(f"  cold load (empty schema)  {cold:7.2f} s")
    print(f"  warm load (no-op re-run)  {warm:7.2f} s   cold/warm {cold / warm:5.1f} x")
    return url


# --- 3. domshare import ------------------------------------------------------------------

def import_file(folder: Path, rows: int, bad_every: int = 0) -> Path:
    n_series = max(1, rows // 250)
    frame = observation_frame(n_series, -(-rows // n_series), seed=2).head(rows)
    lines = ["series,date,domestic_share,source"]
    for i, r in enumerate(frame.itertuples(index=False)):
        value = "n/a" if bad_every and i % bad_every == 0 else f"{r.value:.6f}"
        lines.append(f"imp_{r.series_key},{r.date:%Y-%m},{value},https://example.org/survey")
    path = folder / f"import_{rows}{'_bad' if bad_every else ''}.csv"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def run_import(url: str, path: Path) -> tuple[float, int, str]:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        seconds, code = timed(cli.main, ["import", str(path), "--db", url])
    return seconds, code, (out.getvalue() + err.getvalue()).strip()


def observation_count(url: str) -> int:
    engine = make_engine(url)
    with engine.connect() as conn:
        n = conn.execute(select(func.count()).select_from(schema.observations)).scalar_one()
    engine.dispose()
    return n


def bench_import(kind: str, url: str, url_naive: str, folder: Path, rows: int) -> None:
    good, bad = import_file(folder, rows), import_file(folder, rows, bad_every=10)
    before = observation_count(url)
    first, code, message = run_import(url, good)
    if code != 0 or observation_count(url) != before + rows:
        raise SystemExit(f"import failed ({code}): {message}")
    again, code, _ = run_import(url, good)
    rejected, bad_code, bad_message = run_import(url, bad)
    if code != 0 or bad_code == 0 or observation_count(url) != before + rows:
        raise SystemExit(f"re-import or rejection misbehaved: {bad_message[:300]}")
    # the baseline writes the same (already validated) rows with the naive loop
    frame = observation_frame(max(1, rows // 250), -(-rows // max(1, rows // 250)), seed=2).head(rows)
    frame["series_key"] = "imp_" + frame["series_key"]
    frame["source_url"] = "https://example.org/survey"
    engine = make_engine(url_naive)
    upgrade(engine)
    with transaction(engine) as conn:
        catalogue(conn, frame["series_key"].unique())
    naive, _ = write_pass(engine, naive_upsert, frame, "naive import")
    engine.dispose()
    print(f"[{kind}] domshare import of a {rows:,}-row file ({good.stat().st_size / 1e6:.1f} MB), in process")
    print(f"  first import (validate + write) {first:7.2f} s {rows / first:8,.0f} rows/s")
    print(f"  naive row loop, write only      {naive:7.2f} s   import is {naive / first:5.1f} x faster")
    print(f"  re-import (all unchanged)       {again:7.2f} s   first/re-import {first / again:5.1f} x")
    print(f"  file with {rows // 10:,} bad rows rejected  {rejected:7.2f} s   (every bad row reported, "
          f"nothing written)")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=24000, help="observations in the upsert benchmark")
    parser.add_argument("--series", type=int, default=100, help="series they are spread over")
    parser.add_argument("--import-rows", type=int, default=10000)
    parser.add_argument("--pg", metavar="URL", default=os.environ.get("DOMSHARE_TEST_PG_URL"),
                        help="PostgreSQL server URL (default: $DOMSHARE_TEST_PG_URL; none: SQLite only)")
    parser.add_argument("--no-pg", action="store_true", help="SQLite only")
    parser.add_argument("--no-sqlite", action="store_true", help="PostgreSQL only")
    args = parser.parse_args(argv)
    kinds = ([] if args.no_sqlite else ["sqlite"]) + (["postgresql"] if args.pg and not args.no_pg else [])
    n_months = max(1, args.rows // args.series)
    with tempfile.TemporaryDirectory(prefix="domshare-bench-") as tmp:
        folder = Path(tmp)
        for kind in kinds:
            with fresh_database(kind, args.pg, folder) as fast, fresh_database(kind, args.pg, folder) as naive:
                bench_upserts(kind, fast, naive, args.series, n_months)
            with fresh_database(kind, args.pg, folder) as url, fresh_database(kind, args.pg, folder) as naive:
                bench_bundled(kind, url)
                bench_import(kind, url, naive, folder, args.import_rows)
            print()
    if "postgresql" not in kinds and not args.no_pg:
        print("PostgreSQL skipped: pass --pg URL or set DOMSHARE_TEST_PG_URL")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
