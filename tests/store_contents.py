"""Test helper: a database's full contents, to assert that a command left it exactly as before."""
from __future__ import annotations

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
