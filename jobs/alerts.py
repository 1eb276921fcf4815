"""Alerts after each complete run: what changed since the previous complete run.

    status_change     a target's status changed (on_track -> at_risk, -> met, ...)
    probability_move  same status, but the probability by the deadline moved by at least
                      `probability_points` (default 15 points)
    crossing_move     a series' projected (median) crossing of a threshold moved by at least
                      `crossing_months` months (default 6)
    new_policy_item   an unreviewed feed item, stored since the previous run, tagged with a
                      sector that some target tracks

One alert per subject per run (a status change also carries the probability move), so a
flip is one alert. `after_run` is the refresh hook: it stores the alerts and POSTs them to
the webhooks (jobs.webhooks); it never raises, so alerting can never fail a run.
Settings come from the `[alerts]` table of sources.toml (see `settings_from`).
"""
from __future__ import annotations

import logging
from dataclasses import dataclass, field

import pandas as pd
from sqlalchemy import Connection, insert, select

from jobs import webhooks
from jobs.errors import ConfigError
from jobs.store import db, read, schema
from jobs.store.db import utcnow

log = logging.getLogger(__name__)
KINDS = ("status_change", "probability_move", "crossing_move", "new_policy_item")


@dataclass(frozen=True)
class Webhook:
    url: str
    secret: str | None = None  # signs each body: X-Domshare-Signature: sha256=<HMAC-SHA256 hex>


@dataclass(frozen=True)
class AlertSettings:
    probability_points: float = 15.0
    crossing_months: float = 6.0
    webhooks: tuple[Webhook, ...] = ()
    webhook_attempts: int = 3
    webhook_timeout: float = 10.0  # seconds per attempt
    webhook_backoff: float = 1.0  # seconds before the 2nd attempt, doubled after each


WEBHOOK_KEYS = {"url", "secret"}
NUMBERS = {"probability_points", "crossing_months", "webhook_attempts", "webhook_timeout", "webhook_backoff"}


def settings_from(where: str, raw) -> AlertSettings:
    """The `[alerts]` table: thresholds, webhook retry settings and `[[alerts.webhooks]]`
    (url, optional secret). ConfigError naming the key for anything else."""
    if not isinstance(raw, dict):
        raise ConfigError(f"{where} [alerts]: must be a table")
    unknown = sorted(set(raw) - NUMBERS - {"webhooks"})
    if unknown:
        raise ConfigError(f"{where} [alerts]: unknown key(s) {', '.join(map(repr, unknown))} "
                          f"(known: {', '.join(sorted(NUMBERS | {'webhooks'}))})")
    numbers = {}
    for key in NUMBERS & set(raw):
        value = raw[key]
        if isinstance(value, bool) or not isinstance(value, (int, float)) or value < (1 if key == "webhook_attempts" else 0):
            raise ConfigError(f"{where} [alerts]: {key} = {value!r} must be a number"
                              + (" of at least 1" if key == "webhook_attempts" else " (0 or more)"))
        numbers[key] = int(value) if key == "webhook_attempts" else float(value)
    hooks = raw.get("webhooks", [])
    if not isinstance(hooks, list):
        raise ConfigError(f"{where} [alerts]: webhooks must be [[alerts.webhooks]] entries")
    webhooks = []
    for index, hook in enumerate(hooks, start=1):
        at = f"{where} [[alerts.webhooks]] #{index}"
        if not isinstance(hook, dict) or set(hook) - WEBHOOK_KEYS:
            raise ConfigError(f"{at}: only url and secret are allowed")
        url, secret = hook.get("url"), hook.get("secret")
        if not isinstance(url, str) or not url.startswith(("http://", "https://")):
            raise ConfigError(f"{at}: url must be an http(s) URL, not {url!r}")
        if secret is not None and (not isinstance(secret, str) or not secret):
            raise ConfigError(f"{at}: secret must be a non-empty string")
        webhooks.append(Webhook(url, secret))
    return AlertSettings(**numbers, webhooks=tuple(webhooks))


def _months(a, b) -> float | None:
    if a is None or b is None or pd.isna(a) or pd.isna(b):
        return None
    return (pd.Timestamp(b) - pd.Timestamp(a)).days / (365.25 / 12)


def _label(status) -> str:
    return str(status).replace("_", " ")


def _target_alerts(changes: pd.DataFrame, points: float, series: dict | None = None) -> list[dict]:
    """`series`: each target's measuring series, kept on its alerts (so they filter by series)."""
    alerts = []
    for row in changes.itertuples():
        if row.previous_run_id is None or pd.isna(row.previous_status):
            continue  # the target is new in this run: nothing to compare
        move = None if pd.isna(row.probability_change) else round(float(row.probability_change) * 100, 1)
        probability = "" if move is None else (
            f" (P by deadline {row.probability_by_deadline - row.probability_change:.2f} -> "
            f"{row.probability_by_deadline:.2f})")
        if row.status != row.previous_status:
            alerts.append(dict(kind="status_change", key=f"status:{row.target_id}", target_id=row.target_id,
                               series_key=(series or {}).get(row.target_id), before=row.previous_status, after=row.status, change=move,
                               message=f"{row.target_id}: {_label(row.previous_status)} -> {_label(row.status)}"
                                       + probability))
        elif move is not None and abs(move) >= points:
            alerts.append(dict(kind="probability_move", key=f"probability:{row.target_id}",
                               target_id=row.target_id, series_key=(series or {}).get(row.target_id),
                               before=row.previous_status, after=row.status,
                               change=move, message=f"{row.target_id}: probability moved {move:+.0f} points"
                                                    + probability + f", still {_label(row.status)}"))
    return alerts


def _crossing_alerts(conn: Connection, run_id: int, previous_id: int, months: float) -> list[dict]:
    now, before = (read.crossings_frame(conn, r) for r in (run_id, previous_id))  # not the forecasts
    both = now.merge(before, on=["series", "threshold"], suffixes=("", "_before"))
    alerts = []
    for row in both.itertuples():
        moved = _months(row.median_date_before, row.median_date)
        if moved is None or abs(moved) < months:
            continue
        alerts.append(dict(kind="crossing_move", key=f"crossing:{row.series}:{row.threshold:g}",
                           series_key=row.series, threshold=float(row.threshold),
                           before=str(row.median_date_before), after=str(row.median_date), change=round(moved, 1),
                           message=f"{row.series}: projected crossing of {row.threshold:.0%} moved "
                                   f"{'later' if moved > 0 else 'earlier'} by {abs(moved):.0f} months "
                                   f"({row.median_date_before} -> {row.median_date})"))
    return alerts


def _policy_alerts(conn: Connection, since, until) -> list[dict]:
    p, t = schema.policies, schema.targets
    tracked = set(conn.execute(select(t.c.sector).distinct()).scalars())
    items = conn.execute(select(p.c.id, p.c.title, p.c.sectors).where(
        p.c.review_status == "unreviewed", p.c.added_at > since, p.c.added_at <= until).order_by(p.c.id)).all()
    alerts = []
    for item in items:
        sectors = sorted(set((item.sectors or "").split(";")) & tracked)
        if sectors:
            alerts.append(dict(kind="new_policy_item", key=f"policy:{item.id}", policy_id=item.id,
                               after=";".join(sectors),
                               message=f"new unreviewed policy item ({', '.join(sectors)}): {item.title}"))
    return alerts


def detect(conn: Connection, run_id: int, settings: AlertSettings = AlertSettings()) -> list[dict]:
    """The alerts of complete run `run_id` against the complete run before it (none for the first)."""
    runs = read.complete_runs(conn, up_to=run_id)
    if run_id not in set(runs["id"]) or len(runs) < 2:
        return []
    previous, this = read.get_run(conn, int(runs["id"].iloc[-2])), read.get_run(conn, run_id)
    targets = read.targets_frame(conn)
    measured_by = {t: s for t, s in zip(targets["target_id"], targets["series"]) if isinstance(s, str)}
    alerts = (_target_alerts(read.target_changes(conn, run_id), settings.probability_points, measured_by)
              + _crossing_alerts(conn, run_id, previous["id"], settings.crossing_months)
              + _policy_alerts(conn, previous["finished_at"], this["finished_at"]))
    return [{**a, "run_id": run_id, "previous_run_id": previous["id"]} for a in alerts]


def record(conn: Connection, run_id: int, settings: AlertSettings = AlertSettings()) -> list[dict]:
    """Store the run's alerts (a subject already alerted for this run is skipped); returns the new rows."""
    known = set(conn.execute(select(schema.alerts.c.key).where(schema.alerts.c.run_id == run_id)).scalars())
    rows = [{**a, "created_at": utcnow()} for a in detect(conn, run_id, settings) if a["key"] not in known]
    if rows:
        conn.execute(insert(schema.alerts), rows)
    return rows


def after_run(engine, run_id: int, settings: AlertSettings | None = None) -> list[dict]:
    """The refresh hook: record the run's alerts, then deliver them to every webhook.
    Never raises (logged instead): an alert problem must not fail the run it reports."""
    settings = settings or AlertSettings()
    try:
        with db.transaction(engine) as conn:
            rows = record(conn, run_id, settings)
        if rows and settings.webhooks:
            webhooks.deliver_run(engine, run_id, settings)
        return rows
    except Exception:  # noqa: BLE001 - alerting is best effort by design; the run is already complete
        log.exception("alerts for run %s failed (the run itself is complete)", run_id)
        return []


__all__ = ["AlertSettings", "Webhook", "settings_from", "detect", "record", "after_run", "KINDS"]
