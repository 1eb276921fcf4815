"""Test helper: a database's full contents, to assert that a command left it exactly as before."""
from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
from sqlalchemy import select

from jobs.store import schema


def table_contents(engine) -> dict[str, list[tuple]]:
    """Every table's rows, sorted (order-free), with binary columns as bytes so that
    SQLite and PostgreSQL compare alike."""
    out = {}
    with engine.connect() as conn:
        for name, table in sorted(schema.metadata.tables.items()):
            rows = conn.execute(select(table)).all()
            out[name] = sorted((tuple(bytes(v) if isinstance(v, memoryview) else v for v in r) for r in rows),
                               key=repr)
    return out


EXPORT_TIMES = {"run.json": ("started_at", "finished_at"), "history.csv": ("run_finished_at",),
                "alerts.csv": ("created_at",)}


def _without_times(path: Path) -> str:
    if path.name == "run.json":
        return json.dumps({k: v for k, v in json.loads(path.read_text()).items() if k not in EXPORT_TIMES[path.name]})
    return pd.read_csv(path).drop(columns=list(EXPORT_TIMES[path.name])).to_csv(index=False)


def assert_same_exports(one: Path, other: Path) -> None:
    """Two export folders hold the same files, byte for byte but for the runs' start and
    finish times (run.json's started_at/finished_at, history.csv's run_finished_at) and the
    alerts' creation times."""
    names = sorted(p.name for p in one.iterdir())
    assert names == sorted(p.name for p in other.iterdir()) and "forecasts.csv" in names
    for name in names:
        if name in EXPORT_TIMES:
            assert _without_times(one / name) == _without_times(other / name), name
        else:
            assert (one / name).read_bytes() == (other / name).read_bytes(), name


def write_catalogue(conn) -> None:
    """The real sector and technology tables of data/ (what `domshare import` checks codes against)."""
    import csv
    from pathlib import Path

    from jobs.store import writes

    data = Path(__file__).resolve().parent.parent / "data"

    def rows(name: str) -> list[dict]:
        with open(data / name, encoding="utf-8", newline="") as handle:
            return [{k: v or None for k, v in r.items()} for r in csv.DictReader(handle)]

    writes.upsert_sectors(conn, rows("sectors.csv"))
    writes.upsert_technologies(conn, rows("technologies.csv"))
