"""Webhook deliveries of a run's alerts: one POST of JSON per run and webhook.

    body       {"run_id", "previous_run_id", "alerts": [alerts.csv row, ...]} (UTF-8 JSON)
    headers    X-Domshare-Event: alerts
               X-Domshare-Delivery: <run id>-<sha256 of the body, 16 hex>
               X-Domshare-Signature: sha256=<HMAC-SHA256 of the body with the secret, hex>
                 (only with a secret; check it with hmac.compare_digest on the raw body)

A timeout, connection error, 429 or 5xx is retried with exponential backoff
(`webhook_attempts`, `webhook_backoff`); any other answer than 2xx fails at once. Every
delivery is a `webhook_deliveries` row (delivered|failed, attempts, HTTP status, error).
"""
from __future__ import annotations

import hashlib
import hmac
import json
import logging

import httpx
from tenacity import RetryError, Retrying, retry_if_exception_type, stop_after_attempt, wait_exponential

from jobs.sources.http import HttpOptions, make_client
from jobs.store import db, read, schema
from jobs.store.db import utcnow

log = logging.getLogger(__name__)
SIGNATURE_HEADER = "X-Domshare-Signature"


class _Retry(Exception):
    """A failure worth another attempt (the last one's status is kept)."""

    def __init__(self, message: str, status: int | None = None):
        super().__init__(message)
        self.status = status


def signature(secret: str, body: bytes) -> str:
    return "sha256=" + hmac.new(secret.encode("utf-8"), body, hashlib.sha256).hexdigest()


def payload(conn, run_id: int) -> bytes:
    alerts = read.alerts_frame(conn, run_id=run_id)
    rows = json.loads(alerts.to_json(orient="records", date_format="iso"))
    previous = rows[0]["previous_run_id"] if rows else None
    return json.dumps({"run_id": run_id, "previous_run_id": previous, "alerts": rows},
                      ensure_ascii=False, sort_keys=True).encode("utf-8")


def _post_once(client: httpx.Client, url: str, body: bytes, headers: dict) -> int:
    try:
        response = client.post(url, content=body, headers=headers)
    except httpx.HTTPError as exc:  # timeouts, refused connections, protocol errors
        raise _Retry(f"{type(exc).__name__}: {exc}") from exc
    if response.status_code == 429 or response.status_code >= 500:
        raise _Retry(f"HTTP {response.status_code}", response.status_code)
    return response.status_code


def post(url: str, body: bytes, secret: str | None, *, attempts: int, backoff: float, timeout: float,
         delivery: str) -> dict:
    """POST with retries; the outcome as a webhook_deliveries row (never raises)."""
    headers = {"Content-Type": "application/json", "X-Domshare-Event": "alerts", "X-Domshare-Delivery": delivery}
    if secret:
        headers[SIGNATURE_HEADER] = signature(secret, body)
    retrying = Retrying(stop=stop_after_attempt(attempts), wait=wait_exponential(multiplier=backoff, max=60),
                        retry=retry_if_exception_type(_Retry), reraise=False)
    outcome = {"url": url, "payload_sha256": hashlib.sha256(body).hexdigest(), "status": "failed",
               "http_status": None, "error": None}
    tries = []

    def attempt(client) -> int:
        tries.append(1)
        return _post_once(client, url, body, headers)

    with make_client(HttpOptions(timeout=timeout, connect_timeout=timeout)) as client:
        try:
            status = retrying(attempt, client)
            outcome["http_status"] = status
            if 200 <= status < 300:
                outcome["status"] = "delivered"
            else:
                outcome["error"] = f"HTTP {status} (not retried)"
        except RetryError as exc:
            last = exc.last_attempt.exception()
            outcome.update(http_status=getattr(last, "status", None), error=f"{last} after {attempts} attempt(s)")
    outcome["attempts"] = len(tries)
    return outcome


def deliver_run(engine, run_id: int, settings) -> list[dict]:
    """POST the run's alerts to every webhook of `settings` (jobs.alerts.AlertSettings) and
    record each delivery."""
    with engine.connect() as conn:
        body = payload(conn, run_id)
        count = len(read.alerts_frame(conn, run_id=run_id))
    rows = []
    for hook in settings.webhooks:
        outcome = post(hook.url, body, hook.secret, attempts=settings.webhook_attempts,
                       backoff=settings.webhook_backoff, timeout=settings.webhook_timeout,
                       delivery=f"{run_id}-{hashlib.sha256(body).hexdigest()[:16]}")
        if outcome["status"] != "delivered":
            log.warning("webhook %s: run %s alerts not delivered: %s", hook.url, run_id, outcome["error"])
        rows.append({**outcome, "run_id": run_id, "alerts": count, "delivered_at": utcnow()})
    if rows:
        with db.transaction(engine) as conn:
            conn.execute(schema.webhook_deliveries.insert(), rows)
    return rows


__all__ = ["deliver_run", "post", "payload", "signature", "SIGNATURE_HEADER"]
