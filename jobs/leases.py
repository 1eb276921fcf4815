"""Database leases: at most one holder per name, across processes and machines.

Two scheduler processes on one database both see a due job (APScheduler 3 does not
coordinate job stores between processes), and a manual `domshare pull` may start while
the scheduler pulls the same source. Each first takes the lease named after the job
(`pull:<source>`, `refresh`, `export`); the loser skips the run or reports AlreadyRunning.
A finished scheduled job keeps its lease for a short `hold` so that a second scheduler
that read the same due time a moment later still skips it. An `expires_at` bounds how
long a crashed holder can block the job, and a holder on this machine whose process is
gone (killed) is taken over at once.

A holder is a thread: `host:pid` for a process's main thread, `host:pid:tid` for any other
(the scheduler runs refreshes and pulls in threads of one process), so two threads never
both hold one lease, while a thread may take back the lease it keeps for its hold.
"""
from __future__ import annotations

import contextlib
import datetime as dt
import os
import socket
import threading
from typing import Iterator

from sqlalchemy import Engine, delete, insert, select, update
from sqlalchemy.exc import IntegrityError

from jobs.errors import AlreadyRunning
from jobs.store.db import utcnow
from jobs.store.schema import leases

DEFAULT_TTL_SECONDS = 6 * 3600  # a crashed holder on another machine blocks its job at most this long


def process_owner() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


def thread_owner() -> str:
    """The calling thread as a lease holder (see the module docstring)."""
    if threading.current_thread() is threading.main_thread():
        return process_owner()
    return f"{process_owner()}:{threading.get_native_id()}"


def _naive_if_sqlite(engine: Engine, moment: dt.datetime) -> dt.datetime:
    # SQLite stores datetimes as text without an offset; compare like with like (all UTC).
    return moment.replace(tzinfo=None) if engine.dialect.name == "sqlite" else moment


def _gone(owner: str) -> bool:
    """True when `owner` is a process of this machine that no longer runs (killed, crashed)."""
    host, _, rest = owner.partition(":")
    pid = rest.partition(":")[0]  # a thread's owner ends in :tid
    if host != socket.gethostname() or not pid.isdigit():
        return False
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return True
    except PermissionError:  # alive, another user's
        return False
    return False


def acquire(engine: Engine, name: str, owner: str, ttl_seconds: float) -> bool:
    """Take the lease `name` for `ttl_seconds` if it is free, expired, already ours, or its
    holder's process on this machine is gone."""
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
        holder = conn.execute(select(leases.c.owner).where(leases.c.name == name)).scalar()
        takeable = (leases.c.expires_at < now) | (leases.c.owner == owner)
        if holder is not None and _gone(holder):
            takeable = takeable | (leases.c.owner == holder)  # compare-and-set on the dead holder
        taken = conn.execute(update(leases).where(leases.c.name == name).where(takeable)
                             .values(owner=owner, expires_at=expires))
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


def holder(engine: Engine, name: str) -> tuple[str, dt.datetime] | None:
    """(owner, expires_at) of the lease `name`, or None when nobody holds it."""
    with engine.connect() as conn:
        row = conn.execute(select(leases.c.owner, leases.c.expires_at).where(leases.c.name == name)).first()
    return (row.owner, row.expires_at) if row else None


@contextlib.contextmanager
def exclusive(engine: Engine, name: str, *, ttl_seconds: float = DEFAULT_TTL_SECONDS,
              hold_seconds: float = 0.0) -> Iterator[str]:
    """Run the block as the only holder of `name`, else raise AlreadyRunning naming the holder."""
    owner = thread_owner()
    if not acquire(engine, name, owner, ttl_seconds):
        held = holder(engine, name)
        by = f" by {held[0]} (until {held[1]:%Y-%m-%d %H:%M:%S} UTC at the latest)" if held else ""
        raise AlreadyRunning(f"{name} is already running{by}; nothing was done")
    try:
        yield owner
    finally:
        release(engine, name, owner, hold_seconds)
