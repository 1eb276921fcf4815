"""The alerts as an Atom 1.0 feed (feedgen): `<dir>/alerts.atom`, written by `domshare feed`
and by the scheduler's export beside the CSVs, so a feed reader can subscribe to the folder.

Entry ids are stable (`urn:domshare:alert:<run>:<subject>`), so a reader shows each alert
once however often the file is rewritten. The newest FEED_ENTRIES alerts are kept.
"""
from __future__ import annotations

import datetime as dt
from pathlib import Path

import pandas as pd

from jobs.export import _atomic_write as atomic_write  # the export's temp-name-then-rename
from jobs.store import db, read

FEED_FILE = "alerts.atom"
FEED_ENTRIES = 200
FEED_ID = "urn:domshare:alerts"


def _utc(value) -> dt.datetime:
    stamp = pd.Timestamp(value)
    return (stamp.tz_localize("UTC") if stamp.tzinfo is None else stamp.tz_convert("UTC")).to_pydatetime()


def atom(alerts: pd.DataFrame, now: dt.datetime | None = None) -> bytes:
    """Atom XML of `alerts` (read.alerts_frame rows, newest first)."""
    from feedgen.feed import FeedGenerator  # here: every CLI command imports this module, few write feeds (lxml)

    feed = FeedGenerator()
    feed.id(FEED_ID)
    feed.title("domshare alerts")
    feed.subtitle("Target outlooks that flipped or moved, crossings that moved, new policy items")
    feed.author({"name": "domshare"})
    feed.generator("domshare")
    feed.updated(_utc(alerts["created_at"].max()) if not alerts.empty else (now or db.utcnow()))
    for row in alerts.itertuples():  # newest first; feedgen prepends unless told to append
        entry = feed.add_entry(order="append")
        subject = row.target_id or (f"{row.series}:{row.threshold:g}" if row.series else row.policy_id)
        entry.id(f"urn:domshare:alert:{row.run_id}:{row.kind}:{subject}")
        entry.title(row.message)
        entry.updated(_utc(row.created_at))
        entry.published(_utc(row.created_at))
        entry.category(term=row.kind)
        entry.content(f"{row.message}\nrun {row.run_id} (compared with run {row.previous_run_id}); "
                      f"before: {row.before or '-'}; after: {row.after or '-'}", type="text")
    return feed.atom_str(pretty=True)


def write_feed(engine, out_dir: Path) -> Path:
    """Write `<out_dir>/alerts.atom` (atomically) with the newest alerts."""
    db.require_schema(engine)
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    with engine.connect() as conn:
        alerts = read.alerts_frame(conn, limit=FEED_ENTRIES)
    path = out_dir / FEED_FILE
    atomic_write(path, atom(alerts).decode("utf-8"))
    return path


__all__ = ["atom", "write_feed", "FEED_FILE"]
