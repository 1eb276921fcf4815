"""Database leases: at most one holder per name, across processes and machines.

Two scheduler processes on one database both see a due job (APScheduler 3 does not
coordinate job stores between processes). Each job first takes the lease named after
it; the loser skips the run. A finished job keeps its lease for a short `hold` so that a
second scheduler that read the same due time a moment later still skips it, and an
`expires_at` bounds how long a crashed holder can block the job.
"""
from __future__ import annotations

import datetime as dt
import os
import socket

from sqlalchemy import Engine, delete, insert, update
from sqlalchemy.exc import IntegrityError

from jobs.store.db import utcnow
from jobs.store.schema import leases


def process_owner() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


def _naive_if_sqlite(engine: Engine, moment: dt.datetime) -> dt.datetime:
    # SQLite stores datetimes as text without an offset; compare like with like (all UTC).
    return moment.replace(tzinfo=None) if engine.dialect.name == "sqlite" else moment


def acquire(engine: Engine, name: str, owner: str, ttl_seconds: float) -> bool:
    """Take the lease `name` for `ttl_seconds` if it is free, expired or already ours."""
    now = utcnow()
    expires = _naive_if_sqlite(engine, now + dt.timedelta(seconds=ttl_seconds))
    now = _naive_if_sqlite(engine, now)
    try:
        with engine.begin() as conn:
            conn.execute(insert(leases).values(name=name, owner=owner, expires_at=expires))
        return True
    except IntegrityError:  # the row exists: take it below if it expired or is already ours
        pass
    with engine.begin() as conn:
        taken = conn.execute(
            update(leases)
            .where(leases.c.name == name)
            .where((leases.c.expires_at < now) | (leases.c.owner == owner))
            .values(owner=owner, expires_at=expires)
        )
        return taken.rowcount == 1


def release(engine: Engine, name: str, owner: str, hold_seconds: float = 0.0) -> None:
    """Give the lease up, or keep it `hold_seconds` longer (see the module docstring)."""
    with engine.begin() as conn:
        if hold_seconds > 0:
            until = _naive_if_sqlite(engine, utcnow() + dt.timedelta(seconds=hold_seconds))
            conn.execute(update(leases).where(leases.c.name == name, leases.c.owner == owner)
                         .values(expires_at=until))
        else:
            conn.execute(delete(leases).where(leases.c.name == name, leases.c.owner == owner))
