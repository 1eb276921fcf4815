"""The statcounter source's `os`, `search_engine` and `browser` stats end to end: the China
chart.php export the fetch asks for (query parameters per LIVE_SOURCES.md §1), served by
the real HTTP server on 127.0.0.1, parsed and stored; shares checked against arithmetic
written out by hand from the fixture rows.

No China export of these stats is stored anywhere: the payloads are StatCounter WORLDWIDE
exports in StatCounter's own format, so their labels are StatCounter's worldwide naming
(tests/fixtures/statcounter/README.md). The desktop-OS payload is made up (see below).
"""
from __future__ import annotations

import csv
import datetime as dt
import io
from urllib.parse import parse_qs, urlsplit

import pytest
from sqlalchemy import select

from local_server import FIXTURES, RAW, Reply
from jobs.pull import run_pull
from jobs.settings import REPO_DATA_DIR
from jobs.sources import statcounter
from jobs.sources.config import SourceConfig, load_config
from jobs.sources.http import HttpOptions
from jobs.store import schema

FAST = HttpOptions(timeout=1.0, connect_timeout=1.0, attempts=2, backoff_base=0.01, max_wait=0.05)
SEARCH_CSV = (FIXTURES / "statcounter" / "search_engine-ww-monthly-202108-202110.csv").read_bytes()
BROWSER_CSV = (FIXTURES / "statcounter" / "browser-ww-monthly-202108-202110.csv").read_bytes()
VENDOR_CSV = (RAW / "statcounter" / "vendor-CN-monthly-201003-202404.csv").read_bytes()
# Made-up percentages (no desktop-OS export was found), under the desktop labels of the real
# worldwide os_combined export; "Ubuntu" stands for a label the table does not know, and the
# all-zero 2023-12 row at the end is a month without data, as in the real vendor export.
OS_CSV = (b'"Date","Linux","Windows","Unknown","OS X","Chrome OS","Ubuntu","Other"\n'
          b"2024-01,4.50,80.00,10.00,5.00,0.25,0.15,0.10\n"
          b"2024-02,5.00,78.50,10.00,6.00,0.30,0.10,0.10\n"
          b"2023-12,0,0,0,0,0,0,0\n")

ALL_DEVICES = {"device": "Desktop & Mobile & Tablet & Console",
               "device_hidden": "desktop+mobile+tablet+console", "multi-device": "true"}
QUERY = {  # LIVE_SOURCES.md §1, "China requests a job would make"
    "vendor": {"device": "Mobile", "device_hidden": "mobile", "statType_hidden": "vendor",
               "statType": "Device Vendor"},
    "os": {"device": "Desktop", "device_hidden": "desktop", "statType_hidden": "os",
           "statType": "Operating System"},
    "search_engine": {**ALL_DEVICES, "statType_hidden": "search_engine", "statType": "Search Engine"},
    "browser": {**ALL_DEVICES, "statType_hidden": "browser", "statType": "Browser"},
}


def expected_query(stat: str) -> dict:
    last = dt.date.today().replace(day=1) - dt.timedelta(days=1)  # the last complete month
    return {**QUERY[stat], "region_hidden": "CN", "region": "China", "granularity": "monthly",
            "fromInt": "201001", "toInt": f"{last:%Y%m}", "fromMonthYear": "2010-01",
            "toMonthYear": f"{last:%Y-%m}", "csv": "1"}


def pull(store, server, stat: str, payload: bytes):
    """Serve `payload` where the built export URL points (on the local server) and pull."""
    options = {"stat": stat, "chart_url": server.url + "/chart.php"}
    built = urlsplit(statcounter.export_url(options))
    server.set(f"{built.path}?{built.query}", Reply(payload, headers={"Content-Type": "text/csv"}))
    source = SourceConfig(name=f"sc-{stat}", kind="statcounter", url=None,
                          schedule="interval:1h", options=options, http=FAST)
    result = run_pull(store, source)
    ((requested, _headers),) = server.requests
    return result, requested


def query_of(path: str) -> dict:
    return {k: v for k, [v] in parse_qs(urlsplit(path).query, keep_blank_values=True).items()}


def stored(engine, key: str) -> dict[dt.date, float]:
    t = schema.observations
    with engine.connect() as conn:
        return {r.date: r.value for r in conn.execute(select(t.c.date, t.c.value).where(t.c.series_key == key))}


def series_row(engine, key: str) -> dict:
    with engine.connect() as conn:
        return dict(conn.execute(select(schema.series).where(schema.series.c.key == key)).mappings().one())


def reshape(payload: bytes, *, new_label: str, take_from: str, amount: str | None = None,
            zero_month: str) -> bytes:
    """Re-emit in StatCounter's style (quoted header, bare cells) with the label columns
    reversed, `amount` (default: all) of `take_from` moved to a new label, and an all-zero
    row for `zero_month` appended at the end."""
    rows = list(csv.reader(io.StringIO(payload.decode("utf-8"))))
    header, body = rows[0], rows[1:]
    src = header.index(take_from)
    out_rows = []
    for row in body:
        moved = amount or row[src]
        row = list(row)
        row[src] = f"{float(row[src]) - float(moved):.2f}"
        out_rows.append(row + [moved])
    header = header + [new_label]
    order = [0] + list(range(len(header) - 1, 0, -1))
    out_rows.append([zero_month] + ["0"] * (len(header) - 1))
    text = ",".join(f'"{header[i]}"' for i in order) + "\n"
    text += "".join(",".join(r[i] for i in order) + "\n" for r in out_rows)
    return text.encode("utf-8")


# ---- search engines ---------------------------------------------------------------------

# Baidu + Sogou + Shenma + Haosou over those plus Google, bing, Yahoo!, YANDEX, DuckDuckGo,
# YANDEX RU, Naver, Ecosia, Seznam, CocCoc, MSN, Qwant, Mail.ru, Daum; Other is left out.
SEARCH_SHARES = {
    dt.date(2021, 8, 1): (1.40 + 0.25 + 0.02 + 0.03) / (1.40 + 0.25 + 0.02 + 0.03 + 92.03 + 2.48
                          + 1.50 + 1.20 + 0.63 + 0 + 0.12 + 0.11 + 0.05 + 0.05 + 0 + 0.03 + 0.01 + 0.02),
    dt.date(2021, 9, 1): (1.64 + 0.15 + 0.03 + 0.05) / (1.64 + 0.15 + 0.03 + 0.05 + 92.04 + 2.66
                          + 1.48 + 0.90 + 0.61 + 0 + 0.10 + 0.12 + 0.03 + 0.05 + 0 + 0.03 + 0.01 + 0.01),
    dt.date(2021, 10, 1): (1.91 + 0.12 + 0.03 + 0.06) / (1.91 + 0.12 + 0.03 + 0.06 + 91.66 + 2.74
                           + 1.50 + 0.96 + 0.60 + 0 + 0.10 + 0.12 + 0.02 + 0.05 + 0 + 0.03 + 0.02 + 0.01),
}


def test_search_engine_pull_asks_for_the_china_export_and_stores_the_chinese_engines_share(store, server):
    payload = reshape(SEARCH_CSV, new_label="Brandnew Search", take_from="Other", amount="0.04",
                      zero_month="2021-07")
    result, requested = pull(store, server, "search_engine", payload)

    assert query_of(requested) == expected_query("search_engine")
    assert requested.startswith("/chart.php?") and "device_hidden=desktop%2Bmobile%2Btablet%2Bconsole" in requested
    assert (result.status, result.rows_added) == ("ok", 3)
    key = "search_domestic_share_statcounter"
    assert stored(store, key) == pytest.approx(SEARCH_SHARES, rel=1e-12)  # 2021-07 (all zero) missing
    assert result.detail["counts"]["unmapped_labels"] == ["Brandnew Search"]
    assert result.detail["counts"]["missing_months"] == 1
    assert any("unmapped search engine 'Brandnew Search'" in w and "statcounter_search_engine_origin.csv" in w
               for w in result.detail["warnings"])
    row = series_row(store, key)
    assert (row["kind"], row["sector"], row["technology"], row["origin"]) == ("domestic_share", "consumer", "search", "pull")
    assert row["publisher"] == "StatCounter" and "not verified" in row["caveat"]


# ---- browsers ----------------------------------------------------------------------------

# 360 Safe Browser + QQ Browser + UC Browser + Sogou Explorer + Maxthon over those plus the
# foreign brands (Chrome, Safari, Firefox, Edge, IE, Edge Legacy, Yandex Browser, Mozilla,
# Coc Coc, Whale Browser, Pale Moon, Vivaldi, Waterfox) plus Opera (ambiguous: counted,
# never domestic); Chromium and Other (here moved to an unknown label) are left out.
BROWSER_SHARES = {
    dt.date(2021, 8, 1): (0.67 + 0.21 + 0.08 + 0.13 + 0.06) / (0.67 + 0.21 + 0.08 + 0.13 + 0.06
                          + 66.97 + 9.97 + 8.07 + 8.84 + 1.43 + 0.24 + 0.36 + 0.19 + 0.12 + 0.10
                          + 0.01 + 0 + 0.01 + 2.45),
    dt.date(2021, 9, 1): (0.68 + 0.20 + 0.07 + 0.11 + 0.04) / (0.68 + 0.20 + 0.07 + 0.11 + 0.04
                          + 67.56 + 9.67 + 7.93 + 8.75 + 1.32 + 0.24 + 0.35 + 0.18 + 0.13 + 0.10
                          + 0.01 + 0 + 0.01 + 2.57),
    dt.date(2021, 10, 1): (0.72 + 0.20 + 0.06 + 0.12 + 0.04) / (0.72 + 0.20 + 0.06 + 0.12 + 0.04
                           + 67.17 + 9.63 + 7.87 + 9.14 + 1.15 + 0.19 + 0.35 + 0.18 + 0.10 + 0.10
                           + 0.01 + 0 + 0.01 + 2.89),
}


def test_browser_pull_stores_the_chinese_brand_share_on_sqlite_and_postgresql(any_store, server):
    payload = reshape(BROWSER_CSV, new_label="Brandnew Browser", take_from="Other", zero_month="2021-11")
    result, requested = pull(any_store, server, "browser", payload)

    assert query_of(requested) == expected_query("browser")
    assert (result.status, result.rows_added) == ("ok", 3)
    key = "browser_domestic_brand_share_statcounter"
    assert stored(any_store, key) == pytest.approx(BROWSER_SHARES, rel=1e-12)
    assert result.detail["counts"]["unmapped_labels"] == ["Brandnew Browser"]
    assert any("unmapped browser 'Brandnew Browser'" in w for w in result.detail["warnings"])
    with any_store.connect() as conn:
        note = conn.execute(select(schema.observations.c.note).where(
            schema.observations.c.date == dt.date(2021, 10, 1))).scalar_one()
    assert "Brandnew Browser 0.04%" in note and "Chromium 0.03%" in note and "ambiguous: 2.89%" in note
    row = series_row(any_store, key)
    assert (row["kind"], row["technology"]) == ("domestic_share", "browsers")
    assert "brand" in row["title"].lower() and "Chromium" in row["caveat"]


# ---- desktop OS: an upper-bound proxy, stored as context ------------------------------------

OS_SHARES = {  # Linux / (Linux + Windows + OS X + Chrome OS); Unknown, Other, Ubuntu left out
    dt.date(2024, 1, 1): 4.50 / (4.50 + 80.00 + 5.00 + 0.25),
    dt.date(2024, 2, 1): 5.00 / (5.00 + 78.50 + 6.00 + 0.30),
}


def test_desktop_os_pull_stores_the_linux_upper_bound_as_a_context_series(store, server):
    result, requested = pull(store, server, "os", OS_CSV)

    assert query_of(requested) == expected_query("os")
    assert "multi-device" not in requested
    assert (result.status, result.rows_added) == ("ok", 2)
    key = "os_desktop_linux_share_statcounter"
    assert stored(store, key) == pytest.approx(OS_SHARES, rel=1e-12)
    assert result.detail["counts"]["unmapped_labels"] == ["Ubuntu"]
    assert any("unmapped OS label 'Ubuntu'" in w for w in result.detail["warnings"])
    row = series_row(store, key)
    assert (row["kind"], row["technology"], row["origin"]) == ("context", "os", "pull")
    assert "UPPER-BOUND PROXY" in row["title"] and "UPPER BOUND" in row["caveat"]


# ---- what every stat shares -------------------------------------------------------------------

@pytest.mark.parametrize("stat, payload", [("search_engine", SEARCH_CSV), ("browser", BROWSER_CSV)])
def test_the_tables_know_every_label_of_the_real_worldwide_exports(stat, payload):
    parsed = statcounter.parse(payload, {"stat": stat})
    assert parsed.warnings == [] and parsed.counts["months"] == 3


def test_the_vendor_stat_is_still_the_default_and_asks_for_the_same_export(store, server):
    result, requested = pull(store, server, "vendor", VENDOR_CSV)
    assert query_of(requested) == expected_query("vendor")
    assert (result.status, result.rows_added) == ("ok", 169)
    assert statcounter.export_url({}) == statcounter.export_url({"stat": "vendor"})


def test_an_unknown_stat_fails_the_pull_before_any_request(store, server):
    source = SourceConfig(name="sc-x", kind="statcounter", url=None, schedule="interval:1h",
                          options={"stat": "mobile_os", "chart_url": server.url + "/chart.php"}, http=FAST)
    result = run_pull(store, source)
    assert (result.status, result.error_kind) == ("failed", "ConfigError")
    assert "mobile_os" in result.error and "search_engine" in result.error
    assert server.requests == []


def test_default_sources_pull_the_three_stats_monthly_like_the_vendor_source():
    config = load_config(REPO_DATA_DIR / "sources.toml")
    vendor = config.source("statcounter-mobile-vendor")
    stats = {s.options.get("stat"): s for s in config.enabled if s.kind == "statcounter"}
    assert set(stats) == {None, "os", "search_engine", "browser"}
    for stat in ("os", "search_engine", "browser"):
        assert stats[stat].url is None  # the chart.php export is built
        assert stats[stat].schedule.split()[2:] == vendor.schedule.split()[2:]  # day 3 of every month
