"""Numeric targets found in feed items: the extractor on hand-written sentences and on the
recorded feed payloads, proposals made by a real pull from the local server, and
`domshare targets review` accepting and rejecting them on a real SQLite file."""
from __future__ import annotations

import datetime as dt
import importlib.util

import pytest
from sqlalchemy import select

from local_server import FIXTURES, ROOT, Reply
from store_contents import table_contents as contents
from jobs import cli
from jobs.pull import run_pull
from jobs.sources.config import SourceConfig
from jobs.sources.http import HttpOptions
from jobs.sources.policy_feed import item_id, parse
from jobs.store import read, schema
from jobs.target_extraction import cn_number, extract

FEEDS = FIXTURES / "feeds"
FAST = HttpOptions(timeout=1.0, connect_timeout=1.0, attempts=2, backoff_base=0.01, max_wait=0.05)


def pairs(text, published=None):
    return {(c.threshold, c.deadline) for c in extract(text, published)}


@pytest.mark.parametrize("text, expected", [
    ("By the end of 2027, 90% of bank core systems must run on domestic databases.", {(0.9, dt.date(2027, 12, 31))}),
    ("到2028年，能源行业服务器国产化率达到百分之八十五。", {(0.85, dt.date(2028, 12, 31))}),
    ("力争2026年前党政机关办公软件替代比例超过九成。", {(0.9, dt.date(2026, 12, 31))}),
    ("到“十五五”末，国产数据库市场占有率要达到60%。", {(0.6, dt.date(2030, 12, 31))}),
    ("The target is 30% by 2026 and 60% by 2028.", {(0.3, dt.date(2026, 12, 31)), (0.6, dt.date(2028, 12, 31))}),
])
def test_shares_and_deadlines_are_read(text, expected):
    assert pairs(text, dt.date(2025, 1, 1)) == expected


@pytest.mark.parametrize("text", [
    "Domestic chips must make up at least 60% of state procurement.",  # no deadline
    "银行业国产化率要达到70%。",  # no deadline
    "Domestic database revenue will grow by 25% a year until 2027.",  # a growth rate
    "到2027年，信创市场规模年均增长30%以上。",  # a growth rate
    "2022年党政机关国产化率达到45%。",  # a past statistic (published 2025)
    "In 2023 the domestic share reached 40 percent.",  # a past statistic
    "预计到2027年国产操作系统市场占有率将超过40%。",  # a forecast, not a target
])
def test_what_must_not_match(text):
    assert pairs(text, dt.date(2025, 1, 1)) == set()


def test_chinese_numerals():
    assert [cn_number(t) for t in ("七十", "七十五", "百", "十", "五", "三十五点五", "七x")] == \
        [70, 75, 100, 10, 5, 35.5, None]


@pytest.mark.parametrize("name", ["policies_rss_v1.xml", "policies_rss_v2.xml", "news_atom.xml"])
def test_recorded_feeds_without_a_number_propose_nothing(name):
    """"在2027年前完成…国产化替代" and "by 2019" set deadlines but no share: nothing to propose."""
    items = parse((FEEDS / name).read_bytes()).policies
    assert len(items) > 0
    assert [extract(f"{i.title}\n{i.summary}", i.date) for i in items.itertuples()] == [[]] * len(items)


def test_the_benchmark_meets_its_goals():
    spec = importlib.util.spec_from_file_location("bench", ROOT / "benchmarks" / "bench_target_extraction.py")
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)
    assert len(bench.LABELLED) >= 30
    assert sum(1 for row in bench.LABELLED if row[1] == "zh") >= len(bench.LABELLED) / 2
    assert bench.main([]) == 0


@pytest.fixture
def proposed(store, server):
    """The store after a pull of the feed with three numeric targets and one growth rate."""
    server.set("/targets", Reply((FEEDS / "policies_rss_targets.xml").read_bytes()))
    source = SourceConfig(name="xinchuang-feed", kind="policy_feed", url=server.url + "/targets",
                          schedule="interval:1h", http=FAST)
    assert run_pull(store, source).status == "ok"
    return store


def proposals_by_item(engine) -> dict:
    with engine.connect() as conn:
        frame = read.target_proposals_frame(conn, None)
    return {r.policy_id: (r.id, r.threshold, r.deadline, r.sector, r.technology, r.status, r.sentence)
            for r in frame.itertuples()}


def test_a_pull_turns_numeric_targets_into_unreviewed_proposals(proposed):
    found = proposals_by_item(proposed)
    sasac, roadmap, kpmg = (item_id(i) for i in ("http://game.yantai119.com/news/582128.html",
                                                   "http://m.handmsg.com/page/2022/0625/10478913.shtml",
                                                   "kpmg-2015-03-banks"))
    assert {k: v[1:6] for k, v in found.items()} == {
        sasac: (1.0, dt.date(2027, 12, 31), "soe", None, "unreviewed"),
        roadmap: (0.5, dt.date(2025, 12, 31), None, None, "unreviewed"),
        kpmg: (0.75, dt.date(2019, 12, 31), "banking", None, "unreviewed"),
    }
    assert found[kpmg][6] == "By 2019 75 percent of information technology (IT) should be secure and controllable."


def run_cli(engine, *args) -> int:
    return cli.main(["targets", "review", "--db", engine.url.render_as_string(hide_password=False), *args])


def test_review_lists_accepts_and_rejects(proposed, capsys):
    found = proposals_by_item(proposed)
    kpmg = found[item_id("kpmg-2015-03-banks")][0]
    sasac = found[item_id("http://game.yantai119.com/news/582128.html")][0]
    assert run_cli(proposed) == 0
    listing = capsys.readouterr().out
    assert "75%" in listing and "2019-12-31" in listing and "100%" in listing

    before = contents(proposed)
    assert run_cli(proposed, "--accept", str(kpmg)) == 2  # no technology guessed: named, nothing stored
    assert "no technology was guessed; give one with --technology" in capsys.readouterr().err
    assert run_cli(proposed, "--accept", str(kpmg), "--technology", "quantum") == 2
    assert "unknown technology 'quantum'" in capsys.readouterr().err
    assert contents(proposed) == before

    assert run_cli(proposed, "--accept", str(kpmg), "--technology", "all") == 0
    assert run_cli(proposed, "--reject", str(sasac)) == 0
    assert run_cli(proposed, "--reject", str(sasac)) == 2
    assert "already rejected" in capsys.readouterr().err
    with proposed.connect() as conn:
        target = conn.execute(select(schema.targets).where(
            schema.targets.c.id == f"{item_id('kpmg-2015-03-banks')}-p{kpmg}")).mappings().one()
        item = conn.execute(select(schema.policies.c.review_status).where(
            schema.policies.c.id == item_id("kpmg-2015-03-banks"))).scalar_one()
    assert (target["policy_id"], target["sector"], target["technology"], target["threshold"],
            target["deadline"], target["origin"]) == (item_id("kpmg-2015-03-banks"), "banking", "all", 0.75,
                                                     dt.date(2019, 12, 31), "user")
    assert "75 percent" in target["encoding"] and item == "user"
    statuses = {v[0]: v[5] for v in proposals_by_item(proposed).values()}
    assert statuses[kpmg] == "accepted" and statuses[sasac] == "rejected"

    capsys.readouterr()
    assert run_cli(proposed) == 0  # a rescan proposes neither again
    assert "new proposal" not in capsys.readouterr().out
