"""The one place that writes snapshots, catalogue rows, observations, policies and targets.

Shared by `domshare init` (bundled data), `domshare import` and the pull jobs. Every
function takes an open connection and never commits: the caller's `transaction()` is
the unit of work. Plain SELECT-then-INSERT/UPDATE keeps the code identical on SQLite
and PostgreSQL (writers are serialised by the caller's transaction / lease).
"""
from __future__ import annotations

import datetime as dt
import hashlib
from dataclasses import dataclass
from typing import Iterable, Mapping

import pandas as pd
from sqlalchemy import Connection, Table, bindparam, func, select

from jobs.sources.base import (
    OBS_DATE, OBS_KIND, OBS_NOTE, OBS_PERIOD_TYPE, OBS_QUOTE, OBS_RELIABILITY, OBS_SERIES,
    OBS_SOURCE_URL, OBS_VALUE, OBS_VALUE_HIGH,
)
from jobs.store import schema
from jobs.store.db import utcnow
from jobs.validate import as_date

# Two floats closer than this are the same observation (CSV round trips add noise).
VALUE_TOLERANCE = 1e-9


@dataclass(frozen=True)
class UpsertCounts:
    added: int = 0
    changed: int = 0
    unchanged: int = 0

    def __add__(self, other: "UpsertCounts") -> "UpsertCounts":
        return UpsertCounts(self.added + other.added, self.changed + other.changed,
                            self.unchanged + other.unchanged)


def sha256_hex(content: bytes) -> str:
    return hashlib.sha256(content).hexdigest()


def find_snapshot(conn: Connection, *, source: str, sha256: str) -> int | None:
    """Id of the stored snapshot with these bytes from this source, if any."""
    t = schema.snapshots
    row = conn.execute(
        select(t.c.id).where(t.c.source == source, t.c.sha256 == sha256).order_by(t.c.id).limit(1)
    ).first()
    return row[0] if row else None


def save_snapshot(
    conn: Connection, *, source: str, url: str, content: bytes,
    fetched_at: dt.datetime | None = None, http_status: int | None = None,
    media_type: str | None = None, licence: str | None = None, note: str | None = None,
) -> int:
    """Store a raw payload (bytes, sha256, size) and return its id.

    The same bytes from the same source are stored once: the existing id is returned,
    so re-loading a file never duplicates its snapshot.
    """
    digest = sha256_hex(content)
    existing = find_snapshot(conn, source=source, sha256=digest)
    if existing is not None:
        return existing
    result = conn.execute(schema.snapshots.insert().values(
        source=source, url=url, fetched_at=fetched_at or utcnow(), http_status=http_status,
        sha256=digest, size=len(content), media_type=media_type, content=content,
        licence=licence, note=note,
    ))
    return int(result.inserted_primary_key[0])


def _upsert_by_key(conn: Connection, table: Table, key: str, rows: Iterable[Mapping]) -> UpsertCounts:
    """Insert rows whose key is new, update rows whose other columns differ."""
    rows = [{k: v for k, v in dict(r).items() if k in table.c} for r in rows]
    if not rows:
        return UpsertCounts()
    keys = [r[key] for r in rows]
    existing = {
        row._mapping[key]: dict(row._mapping)
        for row in conn.execute(select(table).where(table.c[key].in_(keys)))
    }
    added = changed = unchanged = 0
    for row in rows:
        old = existing.get(row[key])
        if old is None:
            conn.execute(table.insert().values(**row))
            added += 1
        elif any(old.get(k) != v for k, v in row.items()):
            conn.execute(table.update().where(table.c[key] == row[key]).values(**row))
            changed += 1
        else:
            unchanged += 1
    return UpsertCounts(added, changed, unchanged)


def upsert_sectors(conn: Connection, rows: Iterable[Mapping]) -> UpsertCounts:
    """Rows keyed by `code` (name, description, wave)."""
    return _upsert_by_key(conn, schema.sectors, "code", rows)


def upsert_technologies(conn: Connection, rows: Iterable[Mapping]) -> UpsertCounts:
    """Rows keyed by `code` (name, description)."""
    return _upsert_by_key(conn, schema.technologies, "code", rows)


def upsert_series(conn: Connection, rows: Iterable[Mapping]) -> UpsertCounts:
    """Rows keyed by `key`, with the columns of the `series` table."""
    return _upsert_by_key(conn, schema.series, "key", rows)


def _clean(value):
    """pandas missing values (NaN, NaT, None) become None."""
    if value is None:
        return None
    try:
        if pd.isna(value):
            return None
    except (TypeError, ValueError):
        pass
    return value


def _evidence(record: Mapping) -> dict:
    """The observation's kind, range end, quote and reliability (absent = exact)."""
    high = _clean(record.get(OBS_VALUE_HIGH))
    return {"kind": _clean(record.get(OBS_KIND)) or "exact", "value_high": None if high is None else float(high),
            "quote": _clean(record.get(OBS_QUOTE)), "reliability": _clean(record.get(OBS_RELIABILITY))}


def upsert_observations(conn: Connection, frame: pd.DataFrame, snapshot_id: int | None) -> UpsertCounts:
    """Write an observation frame (jobs.sources.base.OBSERVATION_COLUMNS, plus the optional
    EVIDENCE_COLUMNS: kind, value_high, quote, reliability) that passed
    jobs.validate.check_observations (the caller's job: it knows the input's rows).

    New (series, date) -> insert. Same value -> untouched (keeps its first snapshot); only
    its description (kind, quote, reliability, note, link) is brought up to date in place.
    Different value or range end -> update, and record the old value and old snapshot in
    `observation_revisions`, so upstream revisions stay visible.
    """
    if frame is None or frame.empty:
        return UpsertCounts()
    obs = schema.observations
    described = ("period_type", "source_url", "note", "kind", "quote", "reliability")
    now = utcnow()
    inserts, revisions, updates, relabels = [], [], [], []
    unchanged = 0
    for series_key, group in frame.groupby(OBS_SERIES, sort=False):
        existing = {
            row.date: row
            for row in conn.execute(
                select(obs.c.id, obs.c.date, obs.c.value, obs.c.value_high, obs.c.snapshot_id,
                       *(obs.c[k] for k in described))
                .where(obs.c.series_key == series_key)
            )
        }
        for record in group.to_dict("records"):
            date = as_date(record[OBS_DATE])
            value = float(record[OBS_VALUE])
            fields = {
                "period_type": _clean(record.get(OBS_PERIOD_TYPE)),
                "source_url": _clean(record.get(OBS_SOURCE_URL)),
                "note": _clean(record.get(OBS_NOTE)),
                **_evidence(record),
            }
            old = existing.get(date)
            if old is None:
                inserts.append({"series_key": series_key, "date": date, "value": value,
                                "snapshot_id": snapshot_id, "updated_at": now, **fields})
            elif abs(old.value - value) > VALUE_TOLERANCE or _differs(old.value_high, fields["value_high"]):
                revisions.append({"series_key": series_key, "date": date, "old_value": old.value,
                                  "old_snapshot_id": old.snapshot_id, "new_value": value,
                                  "new_snapshot_id": snapshot_id, "revised_at": now})
                updates.append({"b_id": old.id, "b_value": value, **{f"b_{k}": v for k, v in fields.items()}})
            else:
                unchanged += 1
                if any(getattr(old, k) != fields[k] for k in described):
                    relabels.append({"b_id": old.id, **{f"b_{k}": fields[k] for k in described}})
    # One executemany per statement: a revised upstream file costs a few round trips, not 2 per row.
    if inserts:
        conn.execute(obs.insert(), inserts)
    if revisions:
        conn.execute(schema.observation_revisions.insert(), revisions)
        conn.execute(obs.update().where(obs.c.id == bindparam("b_id")).values(
            value=bindparam("b_value"), snapshot_id=snapshot_id, updated_at=now,
            **{k: bindparam(f"b_{k}") for k in (*described, "value_high")}), updates)
    if relabels:
        conn.execute(obs.update().where(obs.c.id == bindparam("b_id")).values(
            **{k: bindparam(f"b_{k}") for k in described}), relabels)
    return UpsertCounts(len(inserts), len(revisions), unchanged)


def _differs(old: float | None, new: float | None) -> bool:
    if old is None or new is None:
        return (old is None) != (new is None)
    return abs(old - new) > VALUE_TOLERANCE


def _frame_rows(frame: pd.DataFrame | Iterable[Mapping]) -> list[dict]:
    if isinstance(frame, pd.DataFrame):
        records = frame.to_dict("records")
    else:
        records = [dict(r) for r in frame]
    return [{k: _clean(v) for k, v in r.items()} for r in records]


def upsert_policies(conn: Connection, frame: pd.DataFrame | Iterable[Mapping]) -> UpsertCounts:
    """Policy rows keyed by `id` (columns of the `policies` table); `added_at` set on insert."""
    rows = _frame_rows(frame)
    now = utcnow()
    t = schema.policies
    existing = set(conn.execute(select(t.c.id).where(t.c.id.in_([r["id"] for r in rows]))).scalars())
    for r in rows:
        r.pop("added_at", None)
        if r["id"] not in existing:
            r["added_at"] = now
    return _upsert_by_key(conn, t, "id", rows)


def upsert_targets(conn: Connection, frame: pd.DataFrame | Iterable[Mapping]) -> UpsertCounts:
    """Target rows keyed by `id` (columns of the `targets` table)."""
    return _upsert_by_key(conn, schema.targets, "id", _frame_rows(frame))


def table_counts(conn: Connection) -> dict[str, int]:
    """Row counts of every table (used by summaries and idempotence tests)."""
    return {
        name: conn.execute(select(func.count()).select_from(table)).scalar_one()
        for name, table in schema.metadata.tables.items()
    }


__all__ = [
    "UpsertCounts", "find_snapshot", "save_snapshot", "sha256_hex", "table_counts",
    "upsert_sectors", "upsert_technologies", "upsert_series", "upsert_observations",
    "upsert_policies", "upsert_targets",
]
