"""Target proposals: numeric targets the extractor (jobs.target_extraction) finds in feed
items, kept as unreviewed rows of `target_proposals` until a person accepts or rejects them.

    scan_policies   feed items (policies with review_status 'unreviewed') -> new proposals;
                    called by a pull that stored new items, and by `domshare targets review`
    accept          proposal -> a `targets` row (origin 'user', the feed item as its policy),
                    the proposal 'accepted' and the item marked reviewed ('user')
    reject          proposal -> 'rejected' (a later scan never proposes it again)
"""
from __future__ import annotations

import datetime as dt
from pathlib import Path

from sqlalchemy import Connection, insert, select, update

from jobs.errors import ConfigError
from jobs.settings import REPO_DATA_DIR
from jobs.sources.policy_feed import KEYWORDS_FILE, Rules
from jobs.store import schema
from jobs.store.schema import split_codes
from jobs.store.db import utcnow
from jobs.target_extraction import extract, guess_codes

MEASURES = ("direct", "proxy")


def scan_policies(conn: Connection, policy_ids: list[str] | None = None, rules: Rules | None = None) -> int:
    """Propose every numeric target found in unreviewed feed items (`policy_ids`: only
    those); a (item, threshold, deadline) already proposed, accepted or rejected is skipped.
    Returns how many proposals were added."""
    rules = rules or Rules.load(Path(REPO_DATA_DIR) / KEYWORDS_FILE)
    p, tp = schema.policies, schema.target_proposals
    query = select(p.c.id, p.c.title, p.c.summary, p.c.date, p.c.sectors, p.c.technologies).where(
        p.c.review_status == "unreviewed")
    if policy_ids is not None:
        query = query.where(p.c.id.in_(policy_ids))
    known = {(r.policy_id, r.threshold, r.deadline)
             for r in conn.execute(select(tp.c.policy_id, tp.c.threshold, tp.c.deadline))}
    rows = []
    for item in conn.execute(query):
        for candidate in extract(f"{item.title}\n{item.summary or ''}", item.date):
            if (item.id, candidate.threshold, candidate.deadline) in known:
                continue
            known.add((item.id, candidate.threshold, candidate.deadline))
            sector, technology = guess_codes(candidate.sentence, rules.sectors, rules.technologies,
                                             split_codes(item.sectors), split_codes(item.technologies))
            rows.append({"policy_id": item.id, "sentence": candidate.sentence, "threshold": candidate.threshold,
                         "deadline": candidate.deadline, "sector": sector, "technology": technology,
                         "pattern": candidate.pattern, "status": "unreviewed", "found_at": utcnow()})
    if rows:
        conn.execute(insert(tp), rows)
    return len(rows)


def _unreviewed(conn: Connection, proposal_id: int) -> dict:
    row = conn.execute(select(schema.target_proposals).where(
        schema.target_proposals.c.id == proposal_id)).mappings().first()
    if row is None:
        raise ConfigError(f"proposal {proposal_id} does not exist (see `domshare targets review`)")
    if row["status"] != "unreviewed":
        raise ConfigError(f"proposal {proposal_id} is already {row['status']}")
    return dict(row)


def _check_code(conn: Connection, table, value: str | None, what: str, proposal_id: int) -> str:
    if not value:
        raise ConfigError(f"proposal {proposal_id}: no {what} was guessed; give one with --{what}")
    if conn.execute(select(table.c.code).where(table.c.code == value)).first() is None:
        known = ", ".join(conn.execute(select(table.c.code).order_by(table.c.code)).scalars())
        raise ConfigError(f"proposal {proposal_id}: unknown {what} {value!r} (known: {known})")
    return value


def accept(conn: Connection, proposal_id: int, *, sector: str | None = None, technology: str | None = None,
           series_key: str | None = None, measure: str | None = None, threshold: float | None = None,
           deadline: dt.date | None = None) -> str:
    """Store the proposal as a target (the reviewer may correct any field) and return its id."""
    proposal = _unreviewed(conn, proposal_id)
    sector = _check_code(conn, schema.sectors, sector or proposal["sector"], "sector", proposal_id)
    technology = _check_code(conn, schema.technologies, technology or proposal["technology"], "technology",
                             proposal_id)
    threshold = proposal["threshold"] if threshold is None else threshold
    if not 0 < threshold <= 1:
        raise ConfigError(f"proposal {proposal_id}: threshold {threshold} is not a fraction in (0, 1]")
    if series_key is not None:
        if conn.execute(select(schema.series.c.key).where(schema.series.c.key == series_key)).first() is None:
            raise ConfigError(f"proposal {proposal_id}: unknown series {series_key!r} (see `domshare status`)")
        if measure not in MEASURES:
            raise ConfigError(f"proposal {proposal_id}: a measuring series needs --measure direct or proxy")
    elif measure is not None:
        raise ConfigError(f"proposal {proposal_id}: --measure needs --series")
    target_id = f"{proposal['policy_id']}-p{proposal_id}"
    conn.execute(insert(schema.targets).values(
        id=target_id, policy_id=proposal["policy_id"], sector=sector, technology=technology,
        threshold=threshold, deadline=deadline or proposal["deadline"], series_key=series_key, measure=measure,
        encoding=f"read from the feed item's words \u201c{proposal['sentence']}\u201d ({proposal['pattern']}); "
                 f"accepted by a reviewer on {utcnow():%Y-%m-%d}",
        origin="user"))
    _mark(conn, proposal_id, "accepted", target_id)
    conn.execute(update(schema.policies).where(schema.policies.c.id == proposal["policy_id"])
                 .values(review_status="user"))
    return target_id


def reject(conn: Connection, proposal_id: int) -> None:
    _unreviewed(conn, proposal_id)
    _mark(conn, proposal_id, "rejected", None)


def _mark(conn: Connection, proposal_id: int, status: str, target_id: str | None) -> None:
    conn.execute(update(schema.target_proposals).where(schema.target_proposals.c.id == proposal_id)
                 .values(status=status, target_id=target_id, reviewed_at=utcnow()))


__all__ = ["scan_policies", "accept", "reject"]
