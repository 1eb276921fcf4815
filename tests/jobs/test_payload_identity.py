"""Payloads are checked against what the source asked for: real StatCounter exports of other
regions and stats, and real World Bank data of another indicator or country, served on
127.0.0.1 at the configured URL, are refused and never land in a China series."""
from __future__ import annotations

import pytest

from local_server import FIXTURES, RAW, Reply
from jobs.pull import run_pull
from jobs.sources import statcounter
from jobs.sources.config import RevisionLimit, SourceConfig
from jobs.store import schema
from store_contents import table_contents
from test_pull import FAST, NEW_CSV, count, observations, pulls, rewrite, swap_columns

BROWSER_WW = (FIXTURES / "statcounter" / "browser-ww-monthly-202108-202110.csv").read_bytes()
SEARCH_WW = (FIXTURES / "statcounter" / "search_engine-ww-monthly-202108-202110.csv").read_bytes()
WB_CSV = (RAW / "worldbank" / "API_TX.VAL.TECH.MF.ZS_DS2_en_csv_v2_1859__CHN_only.csv").read_bytes()
BROWSER_KEY = statcounter.STATS["browser"].series_key


def statcounter_source(server, path, stat="vendor") -> SourceConfig:
    return SourceConfig(name=f"sc-{stat}", kind="statcounter", url=server.url + path,
                        schedule="interval:1h", options={"stat": stat}, http=FAST)


def refused(engine, result, before, *phrases) -> None:
    assert (result.status, result.error_kind) == ("failed", "SourceChanged")
    for phrase in phrases:
        assert phrase in result.error
    after = table_contents(engine)
    # the refused payload is kept for inspection, and nothing else changed but the pull's row
    assert len(after["snapshots"]) == len(before["snapshots"]) + 1
    assert set(before["snapshots"]) <= set(after["snapshots"])
    assert {k: v for k, v in after.items() if k not in ("snapshots", "pulls")} == \
           {k: v for k, v in before.items() if k not in ("snapshots", "pulls")}
    assert pulls(engine)[-1]["error_kind"] == "SourceChanged"


@pytest.mark.parametrize("download_name, phrase", [
    ("vendor-ww-monthly-201003-202404.csv", "region 'ww', not 'CN'"),
    ("vendor-US-monthly-201003-202404.csv", "region 'US', not 'CN'"),
    ("browser-CN-monthly-201003-202404.csv", "stat 'browser', not 'vendor'"),
    ("vendor-CN-yearly-2010-2024.csv", "yearly data, not monthly"),
])
def test_a_download_named_for_another_export_never_overwrites_the_china_months(store, server, download_name, phrase):
    server.set("/sc.csv", Reply(NEW_CSV))
    assert run_pull(store, statcounter_source(server, "/sc.csv")).status == "ok"
    china = observations(store)
    before = table_contents(store)
    # the same URL now answers with a download named for another region / stat / granularity
    server.set("/sc.csv", Reply(NEW_CSV + b"\n", headers={  # one more blank line: a new sha256
        "Content-Disposition": f'attachment; filename="{download_name}"'}))
    result = run_pull(store, statcounter_source(server, "/sc.csv"))
    refused(store, result, before, phrase, download_name)
    assert observations(store) == china and count(store, schema.observation_revisions) == 0


def test_the_real_worldwide_browser_export_is_refused_by_its_file_name(store, server):
    server.set("/exports/browser-ww-monthly-202108-202110.csv", Reply(BROWSER_WW))
    before = table_contents(store)
    result = run_pull(store, statcounter_source(server, "/exports/browser-ww-monthly-202108-202110.csv", "browser"))
    refused(store, result, before, "region 'ww', not 'CN'")
    assert observations(store, BROWSER_KEY) == {} and count(store, schema.snapshots) == 1


def test_a_search_engine_export_is_not_read_as_browsers(store, server):
    server.set("/chart.php?csv=1", Reply(SEARCH_WW, headers={
        "Content-Disposition": "attachment; filename*=UTF-8''search_engine-CN-monthly-202108-202110.csv"}))
    before = table_contents(store)
    result = run_pull(store, statcounter_source(server, "/chart.php?csv=1", "browser"))
    refused(store, result, before, "stat 'search_engine', not 'browser'")


def test_a_chart_url_asking_for_another_region_is_refused(store, server):
    path = "/chart.php?statType_hidden=browser&region_hidden=US&granularity=monthly&csv=1"
    server.set(path, Reply(BROWSER_WW))
    before = table_contents(store)
    result = run_pull(store, statcounter_source(server, path, "browser"))
    refused(store, result, before, "the URL names another export", "region 'US'")


def test_the_china_export_with_its_own_download_name_is_stored(store, server):
    server.set("/chart.php?csv=1", Reply(NEW_CSV, headers={
        "Content-Disposition": "attachment; filename=vendor-CN-monthly-201003-202404.csv"}))
    result = run_pull(store, statcounter_source(server, "/chart.php?csv=1"))
    assert (result.status, result.rows_added) == ("ok", 169)


# ---- World Bank --------------------------------------------------------------------------

def worldbank_source(server, path, indicator, country="CHN", series=()) -> SourceConfig:
    return SourceConfig(name="wb", kind="worldbank", url=server.url + path, schedule="interval:1h", http=FAST,
                        options={"country": country, "series_by_indicator": {indicator: f"context_{indicator}"},
                                 "series": [dict(row) for row in series]})


ICT_ROW = {"key": "context_TM.VAL.ICTG.ZS.UN", "sector": "all", "technology": "trade", "geography": "CN",
           "unit": "fraction", "frequency": "annual", "kind": "context", "title": "ICT goods imports"}


@pytest.mark.parametrize("indicator, country, phrase", [
    ("TM.VAL.ICTG.ZS.UN", "CHN", "TX.VAL.TECH.MF.ZS for CHN, not TM.VAL.ICTG.ZS.UN for CHN"),
    ("TX.VAL.TECH.MF.ZS", "USA", "TX.VAL.TECH.MF.ZS for CHN, not TX.VAL.TECH.MF.ZS for USA"),
])
def test_worldbank_data_of_another_indicator_or_country_is_refused_and_makes_no_series_row(
        store, server, indicator, country, phrase):
    server.set("/wdi.csv", Reply(WB_CSV))
    before = table_contents(store)
    result = run_pull(store, worldbank_source(server, "/wdi.csv", indicator, country, [ICT_ROW]))
    refused(store, result, before, phrase)
    assert count(store, schema.observations) == 0


@pytest.mark.slow
def test_the_bundled_china_months_survive_a_worldwide_export_at_the_configured_url(tmp_path, server):
    """On a store made by `domshare init`: the default vendor source pointed at a server that
    answers with a worldwide download leaves every bundled China month as it was, even with
    the revision hold switched off. The payload stands in for another region's values: the
    real China export with two vendors' columns exchanged (most months move by far)."""
    from jobs import cli
    from jobs.sources.config import load_config
    from jobs.settings import REPO_DATA_DIR
    from jobs.store import db

    url = f"sqlite:///{tmp_path / 'store.db'}"
    assert cli.main(["init", "--db", url]) == 0
    engine = db.make_engine(url)
    bundled = observations(engine)
    assert len(bundled) >= 160
    default = load_config(REPO_DATA_DIR / "sources.toml").source("statcounter-mobile-vendor")
    other_values = rewrite(NEW_CSV, swap_columns("Huawei", "Samsung"))
    server.set("/chart.php?csv=1", Reply(other_values, headers={
        "Content-Disposition": "attachment; filename=vendor-ww-monthly-201003-202404.csv"}))
    configured = SourceConfig(name=default.name, kind=default.kind, url=server.url + "/chart.php?csv=1",
                              schedule=default.schedule, options=default.options, http=FAST,
                              revisions=RevisionLimit(max_share=1.0))
    result = run_pull(engine, configured)
    assert (result.status, result.error_kind) == ("failed", "SourceChanged")
    assert observations(engine) == bundled
    engine.dispose()
