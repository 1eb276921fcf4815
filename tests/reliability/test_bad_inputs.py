"""The bad-input corpus for `domshare pull`, sources.toml and the flags of pull/up/ui/--db.

Every case runs the real command on a copy of a real store and asserts the exit code, that
the message names the input (file, URL or flag), the place (table, source, key, row or
line) and the problem, and that the store is unchanged: exactly, or, for a pull that got
as far as a payload, except for the failed pull's own row and the payload it keeps.
"""
from __future__ import annotations

import io
import json
import zipfile
from pathlib import Path

import openpyxl
import pytest

from local_server import FIXTURES, RAW, Reply
from jobs.cli import main
from jobs.settings import REPO_DATA_DIR
from jobs.store import db
from store_contents import table_contents

NEW_CSV = (RAW / "statcounter" / "vendor-CN-monthly-201003-202404.csv").read_bytes()  # what the store holds
WB_CSV = (RAW / "worldbank" / "API_TX.VAL.TECH.MF.ZS_DS2_en_csv_v2_1859__CHN_only.csv").read_bytes()
BROWSER_WW = (FIXTURES / "statcounter" / "browser-ww-monthly-202108-202110.csv").read_bytes()
SEARCH_WW = (FIXTURES / "statcounter" / "search_engine-ww-monthly-202108-202110.csv").read_bytes()
FEED = (FIXTURES / "feeds" / "policies_rss_v2.xml").read_bytes()


def dump(url: str) -> dict:
    engine = db.make_engine(url)
    try:
        return table_contents(engine)
    finally:
        engine.dispose()


def run(args: list[str], capsys) -> tuple[int, str]:
    code = main(args)
    captured = capsys.readouterr()
    return code, captured.out + captured.err


def source(name="a", kind="top500", extra="") -> str:
    return f'[[sources]]\nname = "{name}"\nkind = "{kind}"\n{extra}'


# ---- sources.toml: refused when loaded; nothing is pulled, nothing changes -------------------

CONFIG_CASES = [
    ("table typo", '[schedular]\nrefresh_schedule = "0 1 * * *"\n', ["'schedular'", "did you mean 'scheduler'"]),
    ("unknown top-level key", 'sourcez = 1\n', ["'sourcez'", "did you mean 'sources'"]),
    ("option typo", source(kind="statcounter", extra='[sources.options]\nstats = "browser"\n'),
     ["source 'a'", "option(s) for kind 'statcounter'", "'stats'", "did you mean 'stat'"]),
    ("unknown stat", source(kind="statcounter", extra='[sources.options]\nstat = "mobile_os"\n'),
     ["source 'a'", "option stat = 'mobile_os'", "one of vendor, os, search_engine, browser"]),
    ("option for another kind", source(extra='[sources.options]\nindicators = ["X"]\n'),
     ["source 'a'", "'indicators'", "kind 'top500'"]),
    ("timeout text", source(extra='[sources.http]\ntimeout = "abc"\n'),
     ["source 'a'", "timeout = 'abc'", "positive number"]),
    ("timeout negative", source(extra='[sources.http]\ntimeout = -5\n'), ["source 'a'", "timeout = -5", "positive"]),
    ("timeout zero", source(extra='[sources.http]\ntimeout = 0\n'), ["timeout = 0", "positive"]),
    ("timeout infinite", source(extra='[sources.http]\ntimeout = inf\n'), ["timeout = inf", "positive"]),
    ("timeout nan", source(extra='[sources.http]\nconnect_timeout = nan\n'), ["connect_timeout = nan", "positive"]),
    ("attempts fraction", source(extra='[sources.http]\nattempts = 1.5\n'), ["attempts = 1.5", "whole number"]),
    ("max_bytes negative", source(extra='[sources.http]\nmax_bytes = -1\n'), ["max_bytes = -1", "whole number"]),
    ("http key typo", source(extra='[sources.http]\ntimeuot = 3\n'), ["source 'a'", "timeuot"]),
    ("template attribute", source(extra='url = "https://x.org/{year.__class__.__mro__}"\n'),
     ["source 'a'", "{year.__class__.__mro__}", "not allowed"]),
    ("template unknown field", source(extra='url = "https://x.org/{nope}.xlsx"\n'), ["{nope}", "not allowed"]),
    ("template index", source(extra='url = "https://x.org/{month[0]}.xlsx"\n'), ["{month[0]}", "not allowed"]),
    ("template conversion", source(extra='url = "https://x.org/{year!r}.xlsx"\n'), ["{year!r}", "not allowed"]),
    ("template positional", source(extra='url = "https://x.org/{0}.xlsx"\n'), ["{0}", "not allowed"]),
    ("template spec", source(extra='url = "https://x.org/{year:>99999}.xlsx"\n'), ["{year:>99999}", "not allowed"]),
    ("template unbalanced", source(extra='url = "https://x.org/{year.xlsx"\n'), ["not a valid template"]),
    ("template on another kind", source(kind="csv_url", extra='url = "https://x.org/{year}.csv"\n'),
     ["only top500 urls are templates"]),
    ("absolute path outside", source(kind="csv_url", extra='url = "/etc/shadow"\n'),
     ["source 'a'", "'/etc/shadow'", "outside the data folder"]),
    ("file url outside", source(kind="csv_url", extra='url = "file:///proc/self/environ"\n'),
     ["file:///proc/self/environ", "outside the data folder"]),
    ("relative path escaping", source(kind="csv_url", extra='url = "../../../../../../etc/passwd"\n'),
     ["/etc/passwd", "outside the data folder"]),
    ("template path outside", source(extra='url = "/tmp/TOP500_{year}{month:02d}.xlsx"\n'), ["outside the data folder"]),
    ("ftp url", source(kind="csv_url", extra='url = "ftp://example.org/x.csv"\n'), ["unsupported URL scheme 'ftp'"]),
    ("javascript url", source(kind="csv_url", extra='url = "javascript:alert(1)"\n'),
     ["unsupported URL scheme 'javascript'"]),
    ("url not text", source(kind="csv_url", extra='url = 42\n'), ["source 'a'", "url must be text"]),
    ("chart_url a file", source(kind="statcounter", extra='[sources.options]\nchart_url = "file:///etc/passwd"\n'),
     ["option chart_url", "http(s) URL"]),
    ("query asks for another region", source(kind="statcounter", extra='[sources.options.query]\nregion_hidden = "ww"\n'),
     ["option query", "a statcounter source is for China"]),
    ("month out of range", source(kind="statcounter", extra='[sources.options]\nmonth = "2024-13"\n'),
     ["option month = '2024-13'", "YYYY-MM"]),
    ("country not ISO3", source(kind="worldbank", extra='[sources.options]\ncountry = "China"\n'),
     ["option country = 'China'", "ISO3"]),
    ("per_page zero", source(kind="worldbank", extra='[sources.options]\nper_page = 0\n'), ["option per_page = 0"]),
    ("indicators not a list", source(kind="worldbank", extra='[sources.options]\nindicators = "TX.VAL.TECH.MF.ZS"\n'),
     ["option indicators", "a list of indicator codes"]),
    ("enabled as text", source(extra='enabled = "yes"\n'), ["source 'a'", "enabled must be true or false"]),
    ("bad schedule", source(extra='schedule = "every tuesday"\n'), ["source 'a'", "bad schedule 'every tuesday'"]),
    ("zero interval", source(extra='schedule = "interval:0s"\n'), ["bad schedule 'interval:0s'"]),
    ("schedule not text", source(extra='schedule = 5\n'), ["schedule must be a string"]),
    ("name twice", source() + source(), ["source 'a'", "used twice"]),
    ("name with a space", source(name="my source"), ["source 'my source'", "only letters, digits"]),
    ("no name", '[[sources]]\nkind = "top500"\n', ["source #1", "needs a name"]),
    ("unknown kind", source(kind="gopher"), ["unknown kind 'gopher'"]),
    ("a kind of bundled files", source(kind="transcribed"), ["unknown kind 'transcribed'", "bundled data/ files"]),
    ("source key typo", source(extra='shedule = "0 1 * * *"\n'), ["'shedule'", "did you mean 'schedule'"]),
    ("options not a table", source(extra='options = 3\n'), ["[sources.options] must be a table"]),
    ("sources not entries", 'sources = 3\n', ["sources must be [[sources]] entries"]),
    ("revision share over 1", source(extra='[sources.revisions]\nmax_share = 2\n'), ["max_share = 2", "fraction 0-1"]),
    ("revision key typo", source(extra='[sources.revisions]\nmax_shares = 0.2\n'), ["'max_shares'", "did you mean 'max_share'"]),
    ("scheduler unknown key", '[scheduler]\nexport_every = 3\n', ["[scheduler]", "'export_every'"]),
    ("scheduler negative grace", '[scheduler]\nmisfire_grace_time = -1\n', ["misfire_grace_time = -1"]),
    ("scheduler bad cron", '[scheduler]\nexport_schedule = "61 * * * *"\n', ["export_schedule", "bad schedule"]),
    ("refresh option typo", '[scheduler.refresh_options]\nworkerz = 2\n', ["'workerz'", "did you mean 'workers'"]),
    ("local_dirs not a list", 'local_dirs = "mirror"\n', ["local_dirs must be a list of folders"]),
    ("local_dirs in [scheduler]", '[scheduler]\nlocal_dirs = ["mirror"]\n', ["local_dirs belongs at the top of the file"]),
    ("not TOML", "not toml at all = = =", ["not valid TOML"]),
    ("not UTF-8", b"\xff\xfe[scheduler]", ["not valid TOML"]),
]


@pytest.mark.parametrize("body, phrases", [c[1:] for c in CONFIG_CASES], ids=[c[0] for c in CONFIG_CASES])
def test_a_bad_sources_file_is_refused_when_loaded(store_url, tmp_path, capsys, body, phrases):
    path = tmp_path / "sources.toml"
    (path.write_bytes if isinstance(body, bytes) else path.write_text)(body)
    before = dump(store_url)
    code, message = run(["pull", "--db", store_url, "--sources", str(path)], capsys)
    assert code == 2, message
    assert message.startswith("error: ") and str(path) in message
    for phrase in phrases:
        assert phrase in message, (phrase, message)
    assert dump(store_url) == before


@pytest.mark.parametrize("what", ["missing", "a folder"])
def test_a_sources_file_that_is_not_there_is_named(store_url, tmp_path, capsys, what):
    path = tmp_path / "nope.toml"
    if what == "a folder":
        path.mkdir()
    before = dump(store_url)
    code, message = run(["pull", "--db", store_url, "--sources", str(path)], capsys)
    assert (code, message) == (2, f"error: {path}: sources file not found\n")
    assert dump(store_url) == before


def test_a_local_file_inside_local_dirs_is_allowed(store_url, tmp_path, capsys):
    mirror = tmp_path / "mirror"
    mirror.mkdir()
    (mirror / "vendor-CN-monthly-201003-202404.csv").write_bytes(NEW_CSV)
    path = tmp_path / "sources.toml"
    path.write_text('local_dirs = ["mirror"]\n' + source(kind="statcounter", extra=(
        'url = "mirror/vendor-CN-monthly-201003-202404.csv"\n')))
    code, message = run(["pull", "--db", store_url, "--sources", str(path)], capsys)
    assert code == 0, message  # the same months as the store holds: nothing revised


# ---- payloads: the pull fails, the payload is kept, the data is untouched --------------------

def xlsx(edit) -> bytes:
    """The real TOP500 June 2026 list re-saved, with `edit(name, xml) -> xml` applied to its parts."""
    book = openpyxl.load_workbook(RAW / "top500" / "TOP500_202606.xlsx")
    saved = io.BytesIO()
    book.save(saved)
    source_zip, out = zipfile.ZipFile(saved), io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target:
        for name in source_zip.namelist():
            target.writestr(name, edit(name, source_zip.read(name)))
    return out.getvalue()


def doctype(name: str, xml: bytes) -> bytes:
    bomb = b'<!DOCTYPE x [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">]>'
    if name != "xl/worksheets/sheet1.xml":
        return xml
    return xml.replace(b"?>", b"?>" + bomb, 1) if xml.startswith(b"<?xml") else bomb + xml


def four_million_rows(name: str, xml: bytes) -> bytes:
    if name != "xl/worksheets/sheet1.xml":
        return xml
    start = xml.index(b'<dimension ref="') + len(b'<dimension ref="')
    end = xml.index(b'"', start)
    return xml[:start] + b"A1:AH4000000" + xml[end:]


def zip_bomb() -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target:
        target.writestr("[Content_Types].xml", b"<Types/>")
        target.writestr("xl/worksheets/sheet1.xml", b"\0" * (70 * 1024 * 1024))
    return out.getvalue()


def with_line(payload: bytes, number: int, change) -> bytes:
    lines = payload.split(b"\n")
    lines[number - 1] = change(lines[number - 1])
    return b"\n".join(lines)


def swapped_columns(payload: bytes) -> bytes:
    header = payload.split(b"\n", 1)[0]
    return header.replace(b'"Huawei"', b'"@@"').replace(b'"Samsung"', b'"Huawei"').replace(b'"@@"', b'"Samsung"') \
        + payload[len(header):]


WB_API_ERROR = json.dumps([{"message": [{"id": "120", "key": "Invalid value",
                                         "value": "The provided parameter value is not valid"}]}]).encode()

# (id, kind, options TOML, path served, replies, error kind, phrases). The store holds the real
# China vendor series, so a payload that would overwrite it is exactly what must not get in.
PAYLOAD_CASES = [
    ("worldwide vendor export by download name", "statcounter", "", "/sc.csv",
     [Reply(NEW_CSV + b"\n", headers={"Content-Disposition": "attachment; filename=vendor-ww-monthly-201003-202404.csv"})],
     "SourceChanged", ["vendor-ww-monthly-201003-202404.csv", "region 'ww', not 'CN'"]),
    ("US browser export by URL", "statcounter", 'stat = "browser"',
     "/chart.php?statType_hidden=browser&region_hidden=US&csv=1", [Reply(BROWSER_WW)],
     "SourceChanged", ["region 'US', not 'CN'"]),
    ("worldwide browser export by file name", "statcounter", 'stat = "browser"',
     "/browser-ww-monthly-202108-202110.csv", [Reply(BROWSER_WW)], "SourceChanged", ["region 'ww', not 'CN'"]),
    ("search engines served as browsers", "statcounter", 'stat = "browser"', "/chart.php?csv=1",
     [Reply(SEARCH_WW, headers={"Content-Disposition": 'attachment; filename="search_engine-CN-monthly-202108-202110.csv"'})],
     "SourceChanged", ["stat 'search_engine', not 'browser'"]),
    ("a yearly export", "statcounter", "", "/vendor-CN-yearly-2010-2024.csv", [Reply(NEW_CSV)],
     "SourceChanged", ["yearly data, not monthly"]),
    ("World Bank, another indicator", "worldbank",
     'series_by_indicator = { "TM.VAL.ICTG.ZS.UN" = "context_ict_goods_imports_share_worldbank" }', "/wdi.csv",
     [Reply(WB_CSV)], "SourceChanged", ["TX.VAL.TECH.MF.ZS for CHN, not TM.VAL.ICTG.ZS.UN for CHN"]),
    ("World Bank, another country", "worldbank", 'country = "USA"', "/wdi.csv", [Reply(WB_CSV)],
     "SourceChanged", ["not TX.VAL.TECH.MF.ZS for USA"]),
    ("World Bank API error", "worldbank", "", "/wdi.json", [Reply(WB_API_ERROR)], "SourceChanged",
     ["World Bank API error", "Invalid value"]),
    ("World Bank value over 100 %", "worldbank", "", "/wdi.csv",
     [Reply(WB_CSV.replace(b'"31.', b'"131.', 1))], "InvalidData", ["row 6", "is not a percentage 0-100"]),
    ("an HTML page", "statcounter", "", "/sc.csv", [Reply(b"<!DOCTYPE html><html><body>consent</body></html>")],
     "SourceChanged", ["returned HTML/XML or an empty body"]),
    ("an empty body", "statcounter", "", "/sc.csv", [Reply(b"")], "SourceChanged", ["empty body"]),
    ("not UTF-8", "statcounter", "", "/sc.csv", [Reply(NEW_CSV.decode().encode("utf-16"))], "SourceChanged",
     ["is not UTF-8 text"]),
    ("a NUL byte", "statcounter", "", "/sc.csv", [Reply(with_line(NEW_CSV, 5, lambda line: line[:8] + b"\0" + line[8:]))],
     "InvalidData", ["row 5", "control character U+0000"]),
    ("a cell that is no number", "statcounter", "", "/sc.csv",
     [Reply(with_line(NEW_CSV, 30, lambda line: line.split(b",", 1)[0] + b",n/a," + line.split(b",", 2)[2]))],
     "InvalidData", ["row 30", "'n/a' is not a number"]),
    ("a ragged row", "statcounter", "", "/sc.csv", [Reply(with_line(NEW_CSV, 12, lambda line: line + b",1.0"))],
     "InvalidData", ["row 12", "cells, header has"]),
    ("shares not summing to 100", "statcounter", "", "/sc.csv",
     [Reply(with_line(NEW_CSV, 40, lambda line: line.split(b",", 1)[0] + b",90," + line.split(b",", 2)[2]))],
     "InvalidData", ["row 40", "not about 100"]),
    ("a new header", "statcounter", "", "/sc.csv", [Reply(b'"Month","Huawei","Apple"\n2024-01,60,40\n')], "SourceChanged",
     ["unexpected StatCounter header"]),
    ("columns swapped: most of the history revised", "statcounter", "", "/sc.csv", [Reply(swapped_columns(NEW_CSV))],
     "RevisionsHeld", ["phones_usage_statcounter_domestic_share", "--accept-revisions"]),
    ("redirect to javascript:", "statcounter", "", "/sc.csv", [Reply(b"", 302, {"Location": "javascript:alert(1)"})],
     "SourceChanged", ["redirected to 'javascript:alert(1)'", "not an http(s) URL"]),
    ("redirect to a local file", "statcounter", "", "/sc.csv", [Reply(b"", 301, {"Location": "file:///etc/passwd"})],
     "SourceChanged", ["redirected to 'file:///etc/passwd'"]),
    ("redirect loop", "statcounter", "", "/sc.csv", [Reply(b"", 302, {"Location": "/sc.csv"})], "SourceChanged",
     ["more than 5 redirects"]),
    ("redirect without Location", "statcounter", "", "/sc.csv", [Reply(b"", 302)], "SourceChanged",
     ["redirect without a Location header"]),
    ("404", "statcounter", "", "/gone.csv", [Reply(b"not here", 404)], "SourceChanged", ["HTTP 404"]),
    ("403", "statcounter", "", "/sc.csv", [Reply(b"forbidden", 403)], "SourceChanged", ["HTTP 403"]),
    ("body over max_bytes", "statcounter", "", "/sc.csv", [Reply(NEW_CSV)], "SourceChanged",
     ["over the 1000-byte limit"]),
    ("truncated body", "statcounter", "", "/sc.csv", [Reply(NEW_CSV, truncate_to=5000)], "SourceUnavailable",
     ["without sending complete message body"]),
    ("503 every time", "statcounter", "", "/sc.csv", [Reply(b"down", 503)], "SourceUnavailable", ["HTTP 503"]),
    ("an xlsx with a DOCTYPE", "top500", "", "/TOP500_202611.xlsx", [lambda: Reply(xlsx(doctype))], "SourceChanged",
     ["xl/worksheets/sheet1.xml declares a DOCTYPE"]),
    ("an xlsx declaring 4 million rows", "top500", "", "/TOP500_202611.xlsx", [lambda: Reply(xlsx(four_million_rows))],
     "SourceChanged", ["declares 4000000 rows", "5000-row limit"]),
    ("a zip bomb", "top500", "", "/TOP500_202611.xlsx", [lambda: Reply(zip_bomb())], "SourceChanged",
     ["unpacks to 734003", "over the 67108864-byte limit"]),
    ("not a workbook", "top500", "", "/TOP500_202611.xlsx", [Reply(b"%PDF-1.7 not a workbook")], "SourceChanged",
     ["neither an .xls nor an .xlsx workbook"]),
    ("an HTML page for a feed", "policy_feed", "", "/feed.xml", [Reply(b"<html><body>blocked</body></html>")],
     "SourceChanged", ["not an RSS/Atom feed"]),
    ("csv_url with a value over 100 %", "csv_url", "", "/mine.csv",
     [Reply(b"series,date,domestic_share_pct,sector,technology\nmine_x,2021,120,banking,databases\n")],
     "InvalidData", ["row 2"]),
]


@pytest.mark.parametrize("kind, options, path, replies, error_kind, phrases",
                         [c[1:] for c in PAYLOAD_CASES], ids=[c[0] for c in PAYLOAD_CASES])
def test_a_bad_payload_fails_the_pull_and_changes_no_data(store_url, server, tmp_path, capsys,
                                                          kind, options, path, replies, error_kind, phrases):
    server.set(path, *[r() if callable(r) else r for r in replies])
    http = "max_bytes = 1000\n" if "over the 1000-byte limit" in phrases else ""
    toml = tmp_path / "sources.toml"
    toml.write_text(source(name="probe", kind=kind, extra=(
        f'url = "{server.url}{path}"\n[sources.options]\n{options}\n'
        f"[sources.http]\nattempts = 1\ntimeout = 5\n{http}")))
    before = dump(store_url)
    code, message = run(["pull", "--db", store_url, "--sources", str(toml), "probe"], capsys)
    assert code == 5, message
    assert f"probe failed ({error_kind})" in message and f"{server.url}{path}"[:40] in message
    for phrase in phrases:
        assert phrase in message, (phrase, message)
    after = dump(store_url)
    assert [r for r in after["pulls"] if r not in before["pulls"]][0][4] == "failed"
    assert len(after["pulls"]) == len(before["pulls"]) + 1
    assert len(after["snapshots"]) - len(before["snapshots"]) in (0, 1)  # the payload, when one arrived
    for table in set(after) - {"pulls", "snapshots"}:
        assert after[table] == before[table], table


# ---- flags and settings --------------------------------------------------------------------

def flag_cases(tmp_path: Path, store_url: str):
    """(id, argv, environment, exit code, phrases); notes.txt and sources.toml are written by the test."""
    text, sources = tmp_path / "notes.txt", tmp_path / "sources.toml"
    return [
        ("mysql URL", ["pull", "--db", "mysql://me:hunter2@db.example/x"], {}, 2,
         ["not a database URL domshare can use", "mysql://me:***@db.example/x", "mysql is not supported"]),
        ("a text file as the database", ["pull", "--db", f"sqlite:///{text}"], {}, 2,
         [str(text), "is not a SQLite database file"]),
        ("a folder as the database", ["pull", "--db", f"sqlite:///{tmp_path}"], {}, 2, ["is a folder"]),
        ("no URL at all", ["pull", "--db", "domshare.db"], {}, 2, ["not a database URL", "'domshare.db'"]),
        ("database URL from the environment", ["pull"], {"DOMSHARE_DB_URL": "mysql://me:hunter2@db/x"}, 2,
         ["mysql://me:***@db/x"]),
        ("unknown source name", ["pull", "--db", store_url, "--sources", str(sources), "nope"], {}, 2,
         [str(sources), "no source named 'nope'", "known: off"]),
        ("no enabled source", ["pull", "--db", store_url, "--sources", str(sources)], {}, 2,
         [str(sources), "no enabled source to pull"]),
        ("database without schema", ["pull", "--db", f"sqlite:///{tmp_path / 'empty.db'}"], {}, 3,
         ["has no domshare schema", "domshare init"]),
        ("export into a file", ["export", "--db", store_url, "--out", str(text)], {}, 2,
         ["--out", str(text), "it is a file, not a folder"]),
        ("export below a file", ["export", "--db", store_url, "--out", str(text / "sub")], {}, 2,
         ["--out", str(text / "sub"), "Not a directory"]),
        ("export into /proc", ["export", "--db", store_url, "--out", "/proc/domshare-export"], {}, 2,
         ["--out /proc/domshare-export", "cannot write there"]),
        ("scheduler exporting into a file", ["scheduler", "--db", store_url, "--out", str(text)], {}, 2,
         ["--out", str(text), "it is a file, not a folder"]),
        ("workers not a number", ["pull", "--db", store_url], {"DOMSHARE_WORKERS": "two"}, 2,
         ["DOMSHARE_WORKERS='two' is not a whole number"]),
        ("seed not whole", ["pull", "--db", store_url], {"DOMSHARE_SEED": "1.5"}, 2, ["DOMSHARE_SEED='1.5'"]),
    ]


FLAG_IDS = [case[0] for case in flag_cases(Path("/x"), "sqlite:///x")]


@pytest.mark.parametrize("index", range(len(FLAG_IDS)), ids=FLAG_IDS)
def test_a_bad_flag_or_setting_is_one_line_and_changes_nothing(store_url, tmp_path, capsys, monkeypatch, index):
    _, args, env, exit_code, phrases = flag_cases(tmp_path, store_url)[index]
    (tmp_path / "notes.txt").write_text("not a database\n")
    (tmp_path / "sources.toml").write_text(source(name="off", kind="csv_url", extra=(
        'url = "https://example.org/x.csv"\nenabled = false\n')))
    monkeypatch.delenv("DOMSHARE_DB_URL", raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    before = dump(store_url)
    code, message = run(args, capsys)
    assert code == exit_code, message
    assert message.startswith("error: ") and message.count("\n") == 1 and "Traceback" not in message
    for phrase in phrases:
        assert phrase in message, (phrase, message)
    assert "hunter2" not in message
    assert dump(store_url) == before


@pytest.mark.parametrize("args, phrase", [
    (["ui", "--port", "70000"], "argument --port: 70000 is not a port number"),
    (["up", "--port", "http"], "argument --port: 'http' is not a port number"),
    (["pull", "--bogus"], "unrecognized arguments: --bogus"),
])
def test_bad_flags_of_ui_up_and_pull_are_argparse_errors(store_url, capsys, args, phrase):
    before = dump(store_url)
    with pytest.raises(SystemExit) as exit_info:
        main([*args, "--db", store_url])
    assert exit_info.value.code == 2 and phrase in capsys.readouterr().err
    assert dump(store_url) == before
