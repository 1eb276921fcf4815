"""jobs.sources.http against a real server on 127.0.0.1: retries, timeouts, 304, limits."""
from __future__ import annotations

import datetime as dt
import time

import pytest

from local_server import RAW, Reply
from jobs.errors import SourceChanged, SourceUnavailable
from jobs.settings import from_environment
from jobs.sources.http import (
    USER_AGENT, HttpOptions, NotFound, fetch_url, make_client, parse_retry_after, user_agent,
)

FAST = HttpOptions(timeout=1.0, connect_timeout=1.0, attempts=3, backoff_base=0.01, max_wait=0.05)
CSV = (RAW / "statcounter" / "vendor-CN-monthly-201003-202404.csv").read_bytes()


def get(server, path, options=FAST, **kw):
    with make_client(options) as client:
        return fetch_url(client, server.url + path, options=options, **kw)


def test_a_payload_comes_back_byte_exact_with_our_user_agent(server):
    server.set("/sc.csv", Reply(CSV, headers={"Content-Type": "text/csv"}))
    got = get(server, "/sc.csv")
    assert got.content == CSV and got.status == 200 and got.media_type == "text/csv"
    assert server.hits("/sc.csv")[0]["User-Agent"] == USER_AGENT
    assert USER_AGENT.startswith("domshare/") and " " not in USER_AGENT  # no made-up project URL


def test_the_operators_contact_goes_into_the_user_agent(server):
    server.set("/sc.csv", Reply(CSV))
    with make_client(FAST, contact="ops@example.org") as client:
        fetch_url(client, server.url + "/sc.csv", options=FAST)
    assert server.hits("/sc.csv")[0]["User-Agent"] == f"{USER_AGENT} (+ops@example.org)"
    assert from_environment({"DOMSHARE_CONTACT": " ops@example.org "}).contact == "ops@example.org"
    assert from_environment({}).contact is None and user_agent(None) == USER_AGENT
    assert user_agent("a\nb") == f"{USER_AGENT} (+a b)"  # a header value stays one line


def test_503_with_retry_after_then_success(server):
    server.set("/x", Reply(b"busy", 503, {"Retry-After": "0"}), Reply(CSV))
    assert get(server, "/x").content == CSV
    assert len(server.hits("/x")) == 2


def test_retry_after_is_capped_so_a_server_cannot_park_us(server):
    server.set("/x", Reply(b"slow down", 429, {"Retry-After": "3600"}))
    started = time.monotonic()
    with pytest.raises(SourceUnavailable, match="HTTP 429.*after 3 attempts"):
        get(server, "/x")
    assert time.monotonic() - started < 3
    assert len(server.hits("/x")) == 3


def test_a_response_slower_than_the_timeout_is_unavailable(server):
    server.set("/slow", Reply(CSV, delay=1.5))
    options = HttpOptions(timeout=0.3, connect_timeout=1.0, attempts=2, backoff_base=0.01, max_wait=0.05)
    with pytest.raises(SourceUnavailable, match="timed out"):
        get(server, "/slow", options)
    assert len(server.hits("/slow")) == 2


def test_a_truncated_body_is_a_failure_not_data(server):
    server.set("/cut", Reply(CSV, truncate_to=len(CSV) // 2))
    with pytest.raises(SourceUnavailable) as info:
        get(server, "/cut")
    assert "after 3 attempts" in str(info.value)
    assert len(server.hits("/cut")) == 3


def test_etag_round_trip_gives_not_modified(server):
    server.set("/e", Reply(CSV, etag='"v1"'))
    first = get(server, "/e")
    assert first.etag == '"v1"' and not first.not_modified
    second = get(server, "/e", etag=first.etag)
    assert second.not_modified and second.content is None and second.status == 304
    assert server.hits("/e")[1]["If-None-Match"] == '"v1"'


def test_body_over_the_size_limit_is_refused_while_streaming(server):
    server.set("/big", Reply(CSV))
    small = HttpOptions(timeout=1, attempts=1, max_bytes=1000)
    with pytest.raises(SourceChanged, match="1000-byte limit"):
        get(server, "/big", small)


def test_404_is_not_found_and_other_4xx_are_source_changed(server):
    with pytest.raises(NotFound):
        get(server, "/missing")
    server.set("/forbidden", Reply(b"<html>blocked</html>", 403))
    with pytest.raises(SourceChanged, match="HTTP 403"):
        get(server, "/forbidden")
    assert len(server.hits("/forbidden")) == 1  # not retried


def test_connection_refused_is_unavailable():
    with make_client(FAST) as client:
        with pytest.raises(SourceUnavailable, match="ConnectError"):
            fetch_url(client, "http://127.0.0.1:9/nothing", options=FAST)


def test_file_urls_and_plain_paths_read_a_mirror(tmp_path):
    path = tmp_path / "mirror.csv"
    path.write_bytes(CSV)
    with make_client(FAST) as client:
        assert fetch_url(client, path.as_uri(), options=FAST).content == CSV
        assert fetch_url(client, str(path), options=FAST).content == CSV
        with pytest.raises(NotFound):
            fetch_url(client, str(tmp_path / "nope.csv"), options=FAST)


def test_retry_after_accepts_seconds_and_http_dates():
    now = dt.datetime(2026, 11, 28, 12, 0, tzinfo=dt.timezone.utc)
    assert parse_retry_after("120", now) == 120
    assert parse_retry_after("Sat, 28 Nov 2026 12:01:00 GMT", now) == 60
    assert parse_retry_after("garbage", now) is None and parse_retry_after(None) is None
