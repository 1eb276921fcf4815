"""Alerts after each complete run on real runs over changing data: stored once, in the Atom
feed (checked with feedparser), POSTed signed to a receiving server on 127.0.0.1; a webhook
answering 500 is retried and recorded as failed while the run stays complete."""
from __future__ import annotations

import hashlib
import hmac
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import feedparser
import pandas as pd
import pytest
from sqlalchemy import select

from jobs import alerts, cli
from jobs.alert_feed import write_feed
from jobs.errors import ConfigError
from jobs.refresh import refresh
from jobs.sources.config import load_config
from jobs.store import db, read, schema, writes
from run_history import ARRIVALS, FAST, refresh_after_each_arrival

SECRET = "s3cret-for-tests"


class Receiver:
    """A real HTTP server on 127.0.0.1 that records each POST and answers with `statuses`
    in order (the last one repeats)."""

    def __init__(self, *statuses: int):
        self.statuses, self.posts = list(statuses), []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args) -> None:
                pass

            def do_POST(self) -> None:  # noqa: N802 - http.server's naming
                body = self.rfile.read(int(self.headers["Content-Length"]))
                receiver.posts.append((dict(self.headers), body))
                status = receiver.statuses.pop(0) if len(receiver.statuses) > 1 else receiver.statuses[0]
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/hook"

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def receiver():
    servers = []

    def start(*statuses):
        servers.append(Receiver(*statuses))
        return servers[-1]

    yield start
    for server in servers:
        server.close()


def settings_for(url: str, **changes) -> alerts.AlertSettings:
    values = dict(crossing_months=1200, webhooks=(alerts.Webhook(url, SECRET),), webhook_backoff=0.01,
                  webhook_timeout=2.0)
    return alerts.AlertSettings(**{**values, **changes})


def stored(engine, table) -> list[dict]:
    with engine.connect() as conn:
        return [dict(r) for r in conn.execute(select(table).order_by(table.c.id)).mappings()]


def test_a_status_flip_is_one_alert_one_atom_entry_and_one_signed_delivery(sqlite_url, receiver, tmp_path):
    server = receiver(200)
    first, second = refresh_after_each_arrival(sqlite_url, ARRIVALS[:2], alerts=settings_for(server.url))
    engine = db.make_engine(sqlite_url)
    with engine.connect() as conn:
        history = read.target_history(conn, "T-rise").set_index("run_id")
    assert history.loc[first, "status"] != history.loc[second, "status"]

    [alert] = stored(engine, schema.alerts)
    assert (alert["run_id"], alert["previous_run_id"], alert["kind"], alert["target_id"]) == \
        (second, first, "status_change", "T-rise")
    assert (alert["before"], alert["after"]) == (history.loc[first, "status"], history.loc[second, "status"])
    change = history.loc[second, "probability_by_deadline"] - history.loc[first, "probability_by_deadline"]
    assert alert["change"] == pytest.approx(change * 100, abs=0.05)

    feed = feedparser.parse(write_feed(engine, tmp_path).read_bytes())
    assert feed.version == "atom10" and not feed.bozo
    assert [e.title for e in feed.entries] == [alert["message"]]
    assert feed.entries[0].tags[0].term == "status_change"

    [(headers, body)] = server.posts
    expected = "sha256=" + hmac.new(SECRET.encode(), body, hashlib.sha256).hexdigest()
    assert hmac.compare_digest(headers["X-Domshare-Signature"], expected)
    sent = json.loads(body)
    assert sent["run_id"] == second and [a["alert_id"] for a in sent["alerts"]] == [alert["id"]]
    [delivery] = stored(engine, schema.webhook_deliveries)
    assert (delivery["status"], delivery["attempts"], delivery["http_status"], delivery["alerts"]) == \
        ("delivered", 1, 200, 1)
    assert delivery["payload_sha256"] == hashlib.sha256(body).hexdigest()
    assert alerts.record(engine.connect(), second, settings_for(server.url)) == []  # never twice
    engine.dispose()


def test_a_webhook_answering_500_is_retried_and_recorded_failed_without_failing_the_run(sqlite_url, receiver):
    server = receiver(500)
    run_ids = refresh_after_each_arrival(sqlite_url, ARRIVALS[:2],
                                         alerts=settings_for(server.url, webhook_attempts=3))
    engine = db.make_engine(sqlite_url)
    assert [read.get_run(engine.connect(), r)["status"] for r in run_ids] == ["complete", "complete"]
    assert len(server.posts) == 3
    [delivery] = stored(engine, schema.webhook_deliveries)
    assert (delivery["status"], delivery["attempts"], delivery["http_status"]) == ("failed", 3, 500)
    assert "HTTP 500 after 3 attempt(s)" in delivery["error"]
    assert len(stored(engine, schema.alerts)) == 1
    engine.dispose()


def test_an_unreachable_webhook_does_not_fail_the_run(sqlite_url):
    hook = "http://127.0.0.1:9/hook"  # discard port: nothing listens
    run_ids = refresh_after_each_arrival(sqlite_url, ARRIVALS[:2], alerts=settings_for(hook, webhook_attempts=2))
    engine = db.make_engine(sqlite_url)
    [delivery] = stored(engine, schema.webhook_deliveries)
    assert (delivery["status"], delivery["attempts"], delivery["http_status"]) == ("failed", 2, None)
    assert read.latest_run(engine.connect())["id"] == run_ids[-1]
    engine.dispose()


def test_crossing_moves_and_new_policy_items(sqlite_url):
    settings = alerts.AlertSettings()
    runs = refresh_after_each_arrival(sqlite_url, ARRIVALS, alerts=settings)
    engine = db.make_engine(sqlite_url)
    with engine.connect() as conn:
        medians = read.crossing_history(conn, "rising").pivot(index="threshold", columns="run_id",
                                                              values="median_date")
        moves = {t: (pd.Timestamp(row[runs[2]]) - pd.Timestamp(row[runs[1]])).days / (365.25 / 12)
                 for t, row in medians.iterrows() if pd.notna(row[runs[1]]) and pd.notna(row[runs[2]])}
        assert moves, "the climb should move a projected crossing"
        largest = max(abs(m) for m in moves.values())
        found = alerts.detect(conn, runs[2], alerts.AlertSettings(crossing_months=largest))
        beyond = alerts.detect(conn, runs[2], alerts.AlertSettings(crossing_months=largest + 0.5))
    assert {a["threshold"] for a in found if a["kind"] == "crossing_move"} == \
        {t for t, m in moves.items() if abs(m) >= largest}
    assert [a for a in beyond if a["kind"] == "crossing_move"] == []
    stored_moves = {a["threshold"] for a in stored(engine, schema.alerts)
                    if a["kind"] == "crossing_move" and a["run_id"] == runs[2]}
    assert stored_moves == {t for t, m in moves.items() if abs(m) >= settings.crossing_months}

    with db.transaction(engine) as conn:  # two feed items arrive: one in a tracked sector
        writes.upsert_policies(conn, [
            {"id": "feed:bank", "title": "银行核心系统国产化", "sectors": "banking", "review_status": "unreviewed"},
            {"id": "feed:army", "title": "军队信创", "sectors": "military", "review_status": "unreviewed"}])
    fourth = refresh(engine, FAST, workers=1, progress=False, force=True, alerts=settings).run_id
    news = [a for a in stored(engine, schema.alerts) if a["run_id"] == fourth]
    assert [(a["kind"], a["policy_id"]) for a in news] == [("new_policy_item", "feed:bank")]
    engine.dispose()


def changes(rows) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=["target_id", "status", "probability_by_deadline", "previous_run_id",
                                       "previous_status", "probability_change"])


def test_one_alert_per_target_status_first_then_a_probability_move():
    frame = changes([("A", "on_track", 0.9, 1, "at_risk", 0.3),  # flip (and a move): one status alert
                     ("B", "at_risk", 0.6, 1, "at_risk", 0.2),  # 20 points, same status
                     ("C", "at_risk", 0.5, 1, "at_risk", -0.1),  # 10 points: below 15
                     ("D", "on_track", 0.8, None, None, None)])  # new target: nothing to compare
    found = alerts._target_alerts(frame, points=15)
    assert [(a["target_id"], a["kind"], a["change"]) for a in found] == \
        [("A", "status_change", 30.0), ("B", "probability_move", 20.0)]
    assert found[0]["message"] == "A: at risk -> on track (P by deadline 0.60 -> 0.90)"


def test_alert_settings_in_sources_toml(tmp_path):
    path = tmp_path / "sources.toml"
    path.write_text('[alerts]\nprobability_points = 10\n[[alerts.webhooks]]\nurl = "https://hooks.example.org/a"\n'
                    'secret = "x"\n[[alerts.webhooks]]\nurl = "http://127.0.0.1:8080/b"\n')
    settings = load_config(path, tmp_path).alerts
    assert settings.probability_points == 10 and settings.crossing_months == 6
    assert settings.webhooks == (alerts.Webhook("https://hooks.example.org/a", "x"),
                                 alerts.Webhook("http://127.0.0.1:8080/b"))
    for bad, message in [('[alerts]\nprobability_pionts = 10\n', "unknown key(s) 'probability_pionts'"),
                         ('[[alerts.webhooks]]\nurl = "ftp://x"\n', "url must be an http(s) URL"),
                         ('[[alerts.webhooks]]\nurl = "https://x"\ntoken = "y"\n', "only url and secret"),
                         ('[alerts]\ncrossing_months = -1\n', "crossing_months = -1 must be a number")]:
        path.write_text(bad)
        with pytest.raises(ConfigError, match=message.replace("(", r"\(").replace(")", r"\)")):
            load_config(path, tmp_path)


def test_feed_command_writes_a_valid_empty_feed(sqlite_url, tmp_path, capsys):
    refresh_after_each_arrival(sqlite_url, ARRIVALS[:1])
    assert cli.main(["feed", "--db", sqlite_url, "--out", str(tmp_path)]) == 0
    feed = feedparser.parse((tmp_path / "alerts.atom").read_bytes())
    assert feed.version == "atom10" and not feed.bozo and feed.entries == []
    assert f"wrote {tmp_path / 'alerts.atom'}" in capsys.readouterr().out
