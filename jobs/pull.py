"""One pull of one source: fetch -> snapshot -> (unchanged? stop) -> parse -> validate -> upsert.

    fetch (the source module; retries inside jobs.sources.http)
      |  SourceUnavailable / SourceChanged  -> pull 'failed', nothing stored
      |  304, or nothing new (e.g. TOP500 list not yet published) -> 'unchanged'
    snapshot stored in its own transaction (kept even if the payload is rejected)
      |  same sha256 as the last good payload -> 'unchanged', no parse
    parse + validate  -> SourceChanged / InvalidData -> 'failed', data untouched
    ONE transaction: series, observations (revisions kept), policies, source_state, pull row

Every outcome is a row in `pulls` (status ok|unchanged|failed, rows added/changed,
error kind and message, snapshot, detail JSON with warnings and counts).
"""
from __future__ import annotations

import dataclasses
import datetime as dt
import json
import posixpath
import logging
from dataclasses import dataclass, field

import pandas as pd
from urllib.parse import urlparse

from sqlalchemy import Engine, func, insert, select, update

from jobs import leases, proposals, validate
from jobs.errors import (
    ConfigError, InternalError, InvalidData, RevisionsHeld, SourceChanged, SourceError, SourceUnavailable,
)
from jobs.sources import base
from jobs.sources.config import SourceConfig
from jobs.sources.http import Fetched, make_client
from jobs.sources.registry import module_for
from jobs.store import schema, writes
from jobs.store.db import transaction, utcnow

log = logging.getLogger(__name__)
ERROR_KINDS = (SourceUnavailable, SourceChanged, RevisionsHeld, InvalidData, ConfigError)


@dataclass(frozen=True)
class SourceState:
    """What the last good pull left behind; sources use it for conditional GETs."""

    etag: str | None = None
    last_modified: str | None = None
    last_sha256: str | None = None
    latest: dt.date | None = None  # newest stored date of the module's PULLED_SERIES


@dataclass
class PullResult:
    source: str
    status: str  # ok | unchanged | failed
    rows_added: int = 0
    rows_changed: int = 0
    error_kind: str | None = None
    error: str | None = None
    snapshot_id: int | None = None
    detail: dict = field(default_factory=dict)
    seconds: float = 0.0

    @property
    def data_changed(self) -> bool:
        """Observations changed, so forecasts are out of date."""
        return self.status == "ok" and bool(self.detail.get("observations_changed"))


def load_state(engine: Engine, source: str, series_keys=()) -> SourceState:
    t, obs = schema.source_state, schema.observations
    with engine.connect() as conn:
        row = conn.execute(select(t).where(t.c.source == source)).first()
        latest = None
        if series_keys:
            latest = conn.execute(select(func.max(obs.c.date))
                                  .where(obs.c.series_key.in_(list(series_keys)))).scalar()
    if row is None:
        return SourceState(latest=latest)
    return SourceState(row.etag, row.last_modified, row.last_sha256, latest)


def _save_state(conn, source: str, fetched: Fetched | None, sha256: str | None) -> None:
    t = schema.source_state
    values = {"updated_at": utcnow()}
    if fetched is not None:
        values.update(etag=fetched.etag, last_modified=fetched.last_modified)
    if sha256 is not None:
        values["last_sha256"] = sha256
    exists = conn.execute(select(t.c.source).where(t.c.source == source)).first()
    if exists:
        conn.execute(update(t).where(t.c.source == source).values(**values))
    else:
        conn.execute(insert(t).values(source=source, **values))


def check_observations(conn, frame: pd.DataFrame, parsed_series: list[dict], where: str,
                       required_kind: str | None = None) -> None:
    """jobs.validate's rules, against the units of the parsed series and of the stored ones;
    and a source that may write only `required_kind` series (e.g. context) writes no other."""
    if frame is None or frame.empty:
        return
    series = {s["key"]: (s.get("kind", "domestic_share"), s.get("unit", "share")) for s in parsed_series}
    keys = set(frame[base.OBS_SERIES].dropna().unique()) - set(series) if base.OBS_SERIES in frame else set()
    if keys:
        t = schema.series
        for key, kind, unit in conn.execute(select(t.c.key, t.c.kind, t.c.unit).where(t.c.key.in_(sorted(keys)))):
            series[key] = (kind, unit)
    problems = validate.observation_problems(frame, where, {key: unit for key, (_, unit) in series.items()})
    if required_kind:
        wrong = sorted({key for key in frame.get(base.OBS_SERIES, ()) if key in series and series[key][0] != required_kind})
        problems += [(where, None, f"series {key!r} is {series[key][0]}; this source may only write "
                                   f"{required_kind} series") for key in wrong]
    if problems:
        raise InvalidData(f"{where}: {len(problems)} invalid observation(s); nothing was stored", problems)


def hold_large_revisions(conn, frame: pd.DataFrame, source: SourceConfig, where: str) -> None:
    """RevisionsHeld when the payload would move more than `source.revisions.max_share` of a
    series' stored points by more than `min_change` (another region's export served at the
    configured URL looks exactly like this)."""
    if frame is None or frame.empty:
        return
    limit, t = source.revisions, schema.observations
    new = {(r[base.OBS_SERIES], r[base.OBS_DATE]): float(r[base.OBS_VALUE])
           for r in frame[[base.OBS_SERIES, base.OBS_DATE, base.OBS_VALUE]].to_dict("records")}
    stored: dict[str, dict] = {}
    for key, date, value in conn.execute(select(t.c.series_key, t.c.date, t.c.value)
                                         .where(t.c.series_key.in_(sorted({k for k, _ in new})))):
        stored.setdefault(key, {})[date] = value
    held = []
    for key, points in sorted(stored.items()):
        moved = sorted(((abs(new[key, d] - v), d, v, new[key, d]) for d, v in points.items()
                        if (key, d) in new and abs(new[key, d] - v) > limit.min_change), reverse=True)
        if len(moved) > limit.max_share * len(points):
            _, date, old, value = moved[0]
            held.append(f"{key}: {len(moved)} of its {len(points)} stored points "
                        f"({len(moved) / len(points):.0%}) would move by more than {limit.min_change:g} "
                        f"(largest: {date} {old:.3f} -> {value:.3f})")
    if held:
        raise RevisionsHeld(
            f"{where}: payload held, it revises more than {limit.max_share:.0%} of the stored "
            f"history: {'; '.join(held)}. The snapshot is kept; if the revision is real, apply it with "
            f"`domshare pull {source.name} --accept-revisions`")


def _record(engine: Engine, conn, result: PullResult, started) -> None:
    values = dict(
        source=result.source, started_at=started, finished_at=utcnow(), status=result.status,
        rows_added=result.rows_added, rows_changed=result.rows_changed,
        error_kind=result.error_kind, error=result.error, snapshot_id=result.snapshot_id,
        detail=json.dumps(result.detail, default=str, ensure_ascii=False) if result.detail else None,
    )
    if conn is not None:
        conn.execute(insert(schema.pulls).values(**values))
    else:
        with transaction(engine) as own:
            own.execute(insert(schema.pulls).values(**values))
    result.seconds = (values["finished_at"] - started).total_seconds()


def _drop_content(conn, snapshot_id: int) -> None:
    """A payload that added or changed nothing (a feed re-served with a new build date, say)
    keeps its url, time, size and sha256 but not its bytes: nothing refers to them, and an
    hourly feed would otherwise grow the store by megabytes a day."""
    conn.execute(update(schema.snapshots).where(schema.snapshots.c.id == snapshot_id).values(
        content=None, note="payload not kept: it added or changed nothing (sha256 and size kept)"))


def _fail(engine: Engine, result: PullResult, exc: Exception, started) -> PullResult:
    result.status = "failed"
    result.rows_added = result.rows_changed = 0
    result.detail = {}
    # the family, not the subclass (NotFound is reported as SourceChanged); anything else is our bug
    result.error_kind = next((kind.__name__ for kind in ERROR_KINDS if isinstance(exc, kind)),
                             InternalError.__name__)
    result.error = str(exc) if isinstance(exc, ERROR_KINDS) else f"{type(exc).__name__}: {exc}"  # a bug: say what
    log.warning("pull %s failed (%s): %s", result.source, result.error_kind, result.error)
    _record(engine, None, result, started)
    return result


def _parse_options(source: SourceConfig, fetched: Fetched) -> dict:
    filename = posixpath.basename(urlparse(fetched.url).path) or fetched.url
    return {"where": f"{source.name} ({fetched.url})", "source_name": source.name,
            "url": fetched.url, "filename": filename, "download_name": fetched.filename, **source.options}


def _series_rows(module, source: SourceConfig, parsed) -> list[dict]:
    """Series the payload feeds: the parser's rows plus `options.series` from sources.toml
    (how a pulled indicator without bundled metadata gets its catalogue row)."""
    rows = [{"origin": "pull", **row} for row in [*parsed.series, *source.options.get("series", [])]]
    kind = getattr(module, "PULLED_SERIES_KIND", None)
    return [dict(row, kind=kind) if kind else row for row in rows]


def run_pull(engine: Engine, source: SourceConfig, *, force: bool = False, client=None,
             contact: str | None = None, accept_revisions: bool = False) -> PullResult:
    """Pull one source now and record the outcome; never raises for a source's failure.
    `contact` (settings.contact) goes into the User-Agent of the client made here;
    `accept_revisions` applies a payload that the source's revision limit would hold."""
    started = utcnow()
    result = PullResult(source=source.name, status="failed")
    module = module_for(source.kind)
    state = load_state(engine, source.name, getattr(module, "PULLED_SERIES", ()))
    if force:
        state = SourceState(latest=state.latest)
    try:
        fetched = _fetch(module, source, state, client, contact)
    except (SourceError, ConfigError) as exc:
        return _fail(engine, result, exc, started)
    except Exception as exc:  # a bug in a fetch on an odd answer: record it, let other sources run
        log.exception("pull %s: unexpected error while fetching", source.name)
        return _fail(engine, result, exc, started)

    if fetched is None or fetched.not_modified:
        reason = "not modified (HTTP 304)" if fetched else "nothing new published"
        return _unchanged(engine, result, source, fetched, None, reason, started)

    digest = writes.sha256_hex(fetched.content)
    with transaction(engine) as conn:  # the raw payload is kept whatever happens next
        new_snapshot = writes.find_snapshot(conn, source=source.name, sha256=digest) is None
        result.snapshot_id = writes.save_snapshot(
            conn, source=source.name, url=fetched.url, content=fetched.content,
            fetched_at=started, http_status=fetched.status, media_type=fetched.media_type,
        )
    if digest == state.last_sha256:
        return _unchanged(engine, result, source, fetched, digest,
                          "same payload as the last good pull (sha256)", started)

    try:
        return _parse_and_store(engine, module, source, fetched, digest, new_snapshot, result, started,
                                accept_revisions)
    except (SourceChanged, InvalidData, RevisionsHeld) as exc:
        return _fail(engine, result, exc, started)
    except Exception as exc:  # a parser bug on an odd payload: record it, let other sources run
        log.exception("pull %s: unexpected error while parsing", source.name)
        return _fail(engine, result, exc, started)


def lease_name(source_name: str) -> str:
    """The lease a pull of this source holds: the scheduler's job id, so a manual pull and a
    scheduled one never run at once."""
    return f"pull:{source_name}"


def run_pull_exclusive(engine: Engine, source: SourceConfig, **kwargs) -> PullResult:
    """`run_pull` holding the source's lease; AlreadyRunning (nothing done) when another
    process pulls it now."""
    with leases.exclusive(engine, lease_name(source.name)):
        return run_pull(engine, source, **kwargs)


def _fetch(module, source: SourceConfig, state: SourceState, client, contact: str | None) -> Fetched | None:
    if client is not None:
        return module.fetch(client, source, state)
    with make_client(source.http, contact) as own_client:
        return module.fetch(own_client, source, state)


def _unchanged(engine: Engine, result: PullResult, source: SourceConfig, fetched: Fetched | None,
               digest: str | None, reason: str, started) -> PullResult:
    """Nothing to parse: keep the server's validators (and the payload's sha256) for next time."""
    result.status = "unchanged"
    result.detail = {"reason": reason}
    with transaction(engine) as conn:
        if fetched is not None:
            _save_state(conn, source.name, fetched, digest)
        _record(engine, conn, result, started)
    return result


def _parse_and_store(engine: Engine, module, source: SourceConfig, fetched: Fetched, digest: str,
                     new_snapshot: bool, result: PullResult, started, accept_revisions: bool) -> PullResult:
    """Parse and validate the payload, then write it and the pull row in ONE transaction.
    Raises SourceChanged / InvalidData / RevisionsHeld (nothing written) for a payload we
    cannot take."""
    options = _parse_options(source, fetched)
    if hasattr(module, "context"):  # what a parser checks against, read from the store
        with engine.connect() as conn:
            options.update(module.context(conn))
    parsed = module.parse(fetched.content, options)
    frame = parsed.observations
    if frame is not None and not frame.empty and base.OBS_SOURCE_URL in frame.columns:
        frame = frame.copy()
        frame[base.OBS_SOURCE_URL] = frame[base.OBS_SOURCE_URL].fillna(fetched.url)
    with transaction(engine) as conn:
        series_rows = _series_rows(module, source, parsed)
        check_observations(conn, frame, series_rows, f"{source.name} ({fetched.url})",
                           getattr(module, "PULLED_SERIES_KIND", None))
        if not accept_revisions:
            hold_large_revisions(conn, frame, source, f"{source.name} ({fetched.url})")
        writes.upsert_series(conn, series_rows)
        counts = writes.upsert_observations(conn, frame, result.snapshot_id)
        policy_counts = writes.UpsertCounts()
        if parsed.policies is not None and not parsed.policies.empty:
            policy_counts = _insert_new_policies(conn, parsed.policies, result.snapshot_id)
        result.status = "ok"
        result.rows_added = counts.added + policy_counts.added
        result.rows_changed = counts.changed + policy_counts.changed
        result.detail = {
            "observations_changed": counts.added + counts.changed,
            "observations_unchanged": counts.unchanged,
            **({"policies_added": policy_counts.added,
                "policies_known": policy_counts.unchanged} if parsed.policies is not None else {}),
            **({"warnings": parsed.warnings} if parsed.warnings else {}),
            **({"counts": parsed.counts} if parsed.counts else {}),
        }
        if new_snapshot and not (result.rows_added or result.rows_changed):
            _drop_content(conn, result.snapshot_id)
        _save_state(conn, source.name, fetched, digest)
        _record(engine, conn, result, started)
    for warning in parsed.warnings:
        log.warning("%s: %s", source.name, warning)
    return result


def _insert_new_policies(conn, policies: pd.DataFrame, snapshot_id: int | None) -> writes.UpsertCounts:
    """Feed items are inserted once (deduplicated by id = hash of guid/link) and never
    overwritten: a reviewer may have edited them since."""
    t = schema.policies
    rows = policies.to_dict("records")
    known = set(conn.execute(select(t.c.id).where(t.c.id.in_([r["id"] for r in rows]))).scalars())
    fresh = [dict(r, snapshot_id=snapshot_id) for r in rows if r["id"] not in known]
    counts = writes.upsert_policies(conn, fresh) if fresh else writes.UpsertCounts()
    proposals.scan_policies(conn, [r["id"] for r in fresh])  # numeric targets in the new items
    return dataclasses.replace(counts, unchanged=counts.unchanged + len(rows) - len(fresh))

