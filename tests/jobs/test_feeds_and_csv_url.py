"""policy_feed (RSS and Atom) and csv_url sources, pulled from a real local server."""
from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import func, select, update

from local_server import FIXTURES, Reply
from jobs.pull import run_pull
from jobs.sources.config import SourceConfig
from jobs.sources.http import HttpOptions
from jobs.sources.policy_feed import item_id
from jobs.store import schema

FAST = HttpOptions(timeout=1.0, connect_timeout=1.0, attempts=2, backoff_base=0.01, max_wait=0.05)
FEEDS = FIXTURES / "feeds"
EXAMPLE = "https://policy-feed.example.org"


def feed_source(server, path, name="gov-feed", kind="policy_feed") -> SourceConfig:
    return SourceConfig(name=name, kind=kind, url=server.url + path, schedule="interval:1h", http=FAST)


def policies(engine) -> dict[str, dict]:
    cols = ("title", "date", "sectors", "technologies", "url", "review_status", "feed", "guid")
    with engine.connect() as conn:
        rows = conn.execute(select(schema.policies)).mappings().all()
    return {r["id"]: {c: r[c] for c in cols} for r in rows}


def count(engine, table) -> int:
    with engine.connect() as conn:
        return conn.execute(select(func.count()).select_from(table)).scalar_one()


V1_EXPECTED = {
    item_id(f"{EXAMPLE}/zhengceku/202312/content_6922001.htm"): {
        "title": "工业和信息化部办公厅关于发布安全可靠测评结果的公告", "date": dt.date(2023, 12, 26),
        "sectors": None, "technologies": "chips;os;databases",
        "url": f"{EXAMPLE}/zhengceku/202312/content_6922001.htm", "review_status": "unreviewed",
        "feed": "gov-feed", "guid": f"{EXAMPLE}/zhengceku/202312/content_6922001.htm"},
    item_id(f"{EXAMPLE}/content/2022-01/12/content_5667817.htm"): {
        "title": "国务院关于印发“十四五”数字经济发展规划的通知", "date": dt.date(2022, 1, 12),
        "sectors": "government", "technologies": None,
        "url": f"{EXAMPLE}/content/2022-01/12/content_5667817.htm", "review_status": "unreviewed",
        "feed": "gov-feed", "guid": f"{EXAMPLE}/content/2022-01/12/content_5667817.htm"},
    item_id("cbrc-2014-39"): {
        "title": "Guiding Opinions concerning Using Secure and Controllable Information Technology "
                 "in the Banking Sector", "date": dt.date(2014, 9, 3),
        "sectors": "banking", "technologies": "os;servers",
        "url": "https://chinacopyrightandmedia.wordpress.com/2014/09/03/guiding-opinions-concerning-"
               "using-secure-and-controllable-information-technology/",
        "review_status": "unreviewed", "feed": "gov-feed", "guid": "cbrc-2014-39"},
}


def test_rss_matched_items_become_unreviewed_policies_and_the_rest_are_counted(any_store, server):
    server.set("/feed", Reply((FEEDS / "policies_rss_v1.xml").read_bytes(),
                              headers={"Content-Type": "application/rss+xml"}))
    result = run_pull(any_store, feed_source(server, "/feed"))
    assert (result.status, result.rows_added) == ("ok", 3)
    assert result.detail["counts"] == {"items": 5, "matched_items": 3, "unmatched_items": 1,
                                       "duplicate_items_in_payload": 1}
    assert policies(any_store) == V1_EXPECTED
    with any_store.connect() as conn:
        snapshot_ids = set(conn.execute(select(schema.policies.c.snapshot_id)).scalars())
    assert snapshot_ids == {result.snapshot_id}


def test_a_newer_feed_adds_only_new_items_and_keeps_reviewers_edits(store, server):
    server.set("/feed", Reply((FEEDS / "policies_rss_v1.xml").read_bytes()),
               Reply((FEEDS / "policies_rss_v2.xml").read_bytes()))
    run_pull(store, feed_source(server, "/feed"))
    edited = item_id("cbrc-2014-39")
    with store.begin() as conn:
        conn.execute(update(schema.policies).where(schema.policies.c.id == edited)
                     .values(review_status="curated", sectors="banking;finance"))
    result = run_pull(store, feed_source(server, "/feed"))
    assert (result.status, result.rows_added, result.rows_changed) == ("ok", 1, 0)
    assert result.detail["counts"]["unmatched_items"] == 2
    assert result.detail["policies_known"] == 3
    stored = policies(store)
    new_id = item_id(f"{EXAMPLE}/content/202403/content_7000001.htm")
    assert set(stored) == set(V1_EXPECTED) | {new_id}
    assert (stored[new_id]["sectors"], stored[new_id]["technologies"]) == ("soe", "databases;office_software")
    assert (stored[edited]["review_status"], stored[edited]["sectors"]) == ("curated", "banking;finance")


def test_atom_feed(store, server):
    server.set("/atom", Reply((FEEDS / "news_atom.xml").read_bytes(), headers={"Content-Type": "application/atom+xml"}))
    result = run_pull(store, feed_source(server, "/atom", name="news"))
    assert (result.status, result.rows_added) == ("ok", 1)
    (row,) = policies(store).values()
    assert row["title"] == "China bans Intel and AMD chips in government PCs and servers"
    assert (row["date"], row["sectors"], row["technologies"]) == (
        dt.date(2024, 3, 24), "government", "chips;os;databases;pcs;servers")
    assert row["guid"] == "tag:news.example.org,2024-03-24:china-safe-and-reliable"
    assert result.detail["counts"]["unmatched_items"] == 1


def test_an_html_page_instead_of_a_feed_is_source_changed(store, server):
    server.set("/feed", Reply(b"<html><head><title>Access denied</title></head><body>blocked</body></html>",
                              headers={"Content-Type": "text/html"}))
    result = run_pull(store, feed_source(server, "/feed"))
    assert (result.status, result.error_kind) == ("failed", "SourceChanged")
    assert count(store, schema.policies) == 0 and count(store, schema.snapshots) == 1


# ---- csv_url -------------------------------------------------------------------------------

GOOD = b"""series,date,domestic_share_pct,sector,technology,source
bank_core_systems_domestic,2021,12.5,banking,databases,https://example.org/survey-2021
bank_core_systems_domestic,2022,18,banking,databases,https://example.org/survey-2022
bank_core_systems_domestic,2023,26.25,banking,databases,
"""


def csv_source(url) -> SourceConfig:
    return SourceConfig(name="analyst-feed", kind="csv_url", url=url, schedule="interval:1h", http=FAST)


def observations(engine, key):
    t = schema.observations
    with engine.connect() as conn:
        return {r.date: (r.value, r.source_url) for r in
                conn.execute(select(t.c.date, t.c.value, t.c.source_url).where(t.c.series_key == key))}


def test_csv_url_imports_like_domshare_import(any_store, server):
    server.set("/mine.csv", Reply(GOOD, headers={"Content-Type": "text/csv"}))
    result = run_pull(any_store, csv_source(server.url + "/mine.csv"))
    assert (result.status, result.rows_added) == ("ok", 3)
    stored = observations(any_store, "bank_core_systems_domestic")
    assert stored == {
        dt.date(2021, 1, 1): (pytest.approx(0.125), "https://example.org/survey-2021"),
        dt.date(2022, 1, 1): (pytest.approx(0.18), "https://example.org/survey-2022"),
        dt.date(2023, 1, 1): (pytest.approx(0.2625), server.url + "/mine.csv"),
    }
    with any_store.connect() as conn:
        series = conn.execute(select(schema.series).where(
            schema.series.c.key == "bank_core_systems_domestic")).mappings().one()
    assert (series["sector"], series["technology"], series["kind"]) == ("banking", "databases", "domestic_share")
    # a second pull of an edited feed revises values the same way
    server.set("/mine.csv", Reply(GOOD.replace(b"26.25", b"27")))
    again = run_pull(any_store, csv_source(server.url + "/mine.csv"))
    assert (again.status, again.rows_added, again.rows_changed) == ("ok", 0, 1)


def test_csv_url_bad_rows_fail_with_row_numbers_and_change_nothing(store, server):
    bad = GOOD.replace(b"18,banking", b"118,banking").replace(b"2023,", b"2023-13,")
    server.set("/mine.csv", Reply(bad))
    result = run_pull(store, csv_source(server.url + "/mine.csv"))
    assert (result.status, result.error_kind) == ("failed", "InvalidData")
    assert f"{server.url}/mine.csv, row 3" in result.error and f"{server.url}/mine.csv, row 4" in result.error
    assert count(store, schema.observations) == 0
    assert count(store, schema.series) == len(open(FIXTURES.parent.parent / "data" / "series.csv").readlines()) - 1


def test_csv_url_may_not_overwrite_bundled_series_and_reads_files_too(store, tmp_path):
    path = tmp_path / "feed.csv"
    path.write_bytes(b"series,date,domestic_share\nphones_usage_statcounter_domestic_share,2024-05,0.9\n")
    result = run_pull(store, csv_source(str(path)))
    assert result.status == "failed" and "bundled or pulled data" in result.error
    path.write_bytes(b"series,date,domestic_share\nmy_series,2024-Q2,0.4\n")
    result = run_pull(store, csv_source(path.as_uri()))
    assert result.status == "ok"
    assert observations(store, "my_series") == {dt.date(2024, 4, 1): (pytest.approx(0.4), path.as_uri())}


def test_a_feed_with_nothing_new_keeps_the_snapshot_metadata_not_the_bytes(store, server):
    v1 = (FEEDS / "policies_rss_v1.xml").read_bytes()
    rebuilt = v1.replace(b"Mon, 25 Mar 2024 02:00:00 GMT", b"Mon, 25 Mar 2024 05:00:00 GMT")
    server.set("/feed", Reply(v1), Reply(rebuilt))
    first = run_pull(store, feed_source(server, "/feed"))
    second = run_pull(store, feed_source(server, "/feed"))
    assert (second.status, second.rows_added, second.rows_changed) == ("ok", 0, 0)
    with store.connect() as conn:
        snaps = {r["id"]: r for r in conn.execute(select(schema.snapshots)).mappings()}
    assert snaps[first.snapshot_id]["content"] == v1  # referenced by the policies it added
    kept = snaps[second.snapshot_id]
    assert kept["content"] is None and kept["size"] == len(rebuilt) and "not kept" in kept["note"]
    assert count(store, schema.policies) == 3
