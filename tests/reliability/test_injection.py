"""Outside text is shown as typed: a feed item's title, summary and link, an import's
`source` and a pull's error carrying Markdown image and link syntax, HTML and a
`javascript:` link, rendered by the real app (Streamlit AppTest) after a real pull and a
real import, stay inert: no image is fetched, no link is made."""
from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from local_server import FIXTURES, ROOT, Reply
from jobs import cli

HOSTILE = ("![pixel](http://evil.example/pixel.png) [Log in here](http://phish.example/login) "
           "<img src=x onerror=alert(1)> :red[urgent] $x^2$ www.phish.example a@phish.example")
LIVE = [  # what Streamlit would turn into an image, a link, HTML, colour or maths
    re.compile(r"(?<!\\)!(?<!\\)\["), re.compile(r"(?<!\\)\]\("), re.compile(r"(?<!\\)<img"),
    re.compile(r"(?<!\\):red(?<!\\)\["), re.compile(r"(?<!\\)\$x"), re.compile(r"https?(?<!\\):"),
    re.compile(r"(?i)www\.phish"), re.compile(r"a(?<!\\)@phish"),
]


def hostile_feed() -> bytes:
    feed = (FIXTURES / "feeds" / "policies_rss_v2.xml").read_text(encoding="utf-8")
    item = feed.index("<item>")
    title = feed.index("</title>", item)
    feed = feed[:title] + " " + HOSTILE.replace("&", "&amp;").replace("<", "&lt;") + feed[title:]
    link = feed.index("<link>", item) + len("<link>")
    return (feed[:link] + "javascript:alert(1)" + feed[feed.index("</link>", link):]).encode()


def texts(app: AppTest) -> list[str]:
    return [str(e.value) for kind in ("title", "markdown", "caption", "info", "warning", "error", "subheader")
            for e in getattr(app, kind)]


def assert_inert(app: AppTest, must_show: str) -> None:
    assert not app.exception, [e.value for e in app.exception]
    shown = texts(app)
    assert any(must_show in text.replace("\\", "") for text in shown), must_show  # it is there, as text
    for text in shown:
        for live in LIVE:
            assert not live.search(text), (live.pattern, text)


@pytest.fixture(scope="module")
def bundled_store(tmp_path_factory) -> Path:
    """A store made by `domshare init` (curated policies and targets beside the feed items)."""
    path = tmp_path_factory.mktemp("bundled") / "store.db"
    assert cli.main(["init", "--db", f"sqlite:///{path}"]) == 0
    return path


@pytest.fixture
def hostile_store(bundled_store, server, tmp_path, capsys):
    """The store after a real pull of the hostile feed, a real import with a hostile `source`
    and a failed pull whose URL (so its error) carries Markdown."""
    shutil.copyfile(bundled_store, tmp_path / "store.db")
    store_url = f"sqlite:///{tmp_path / 'store.db'}"
    server.set("/feed.xml", Reply(hostile_feed()))
    bad_path = "/sc.csv?q=![e](http://evil.example/e.png)"
    server.set(bad_path, Reply(b"<html>blocked</html>"))
    sources = tmp_path / "sources.toml"
    sources.write_text(f'[[sources]]\nname = "feed"\nkind = "policy_feed"\nurl = "{server.url}/feed.xml"\n'
                       f'[[sources]]\nname = "sc"\nkind = "statcounter"\nurl = "{server.url}{bad_path}"\n'
                       "[sources.http]\nattempts = 1\n")
    assert cli.main(["pull", "--db", store_url, "--sources", str(sources), "feed"]) == 0
    assert cli.main(["pull", "--db", store_url, "--sources", str(sources), "sc"]) == 5
    mine = tmp_path / "mine.csv"
    mine.write_text('series,date,domestic_share_pct,sector,technology,source\n'
                    f'mine_db_share,2021,12.5,banking,databases,"{HOSTILE}"\n'
                    f'mine_db_share,2022,20,banking,databases,"{HOSTILE}"\n', encoding="utf-8")
    assert cli.main(["import", str(mine), "--db", store_url]) == 0
    capsys.readouterr()
    return store_url


def open_app(url: str, monkeypatch, page: str | None = None, query: dict | None = None) -> AppTest:
    monkeypatch.setenv("DOMSHARE_DB_URL", url)
    app = AppTest.from_file(str(ROOT / "ui" / "app.py"), default_timeout=90)
    app.run()
    if page:
        app.query_params.update(query or {})
        app.switch_page(f"views/{page}.py").run()
    return app


def test_a_hostile_feed_item_is_plain_text_and_its_javascript_link_no_link(hostile_store, monkeypatch):
    app = open_app(hostile_store, monkeypatch, "policies")
    assert_inert(app, "[Log in here](http://phish.example/login)")
    table = app.dataframe[0].value
    hostile = table[table["title"].str.contains("phish.example", regex=False)]
    assert len(hostile) == 1 and hostile["source"].isna().all()  # javascript: is never a link


def test_a_hostile_pull_error_in_the_warnings_is_plain_text(hostile_store, monkeypatch):
    app = open_app(hostile_store, monkeypatch)
    assert_inert(app, "![e](http://evil.example/e.png)")


def test_a_hostile_import_source_on_the_series_page_is_plain_text(hostile_store, monkeypatch):
    app = open_app(hostile_store, monkeypatch, "series", {"series": "mine_db_share"})
    assert_inert(app, "<img src=x onerror=alert(1)>")
