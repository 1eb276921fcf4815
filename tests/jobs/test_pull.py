"""A pull end to end: real payloads (data/raw) and their failure shapes served on 127.0.0.1,
each case ending with the pull's status and the exact database contents."""
from __future__ import annotations

import csv
import datetime as dt
import io
import json

import pytest
from sqlalchemy import func, select

from local_server import RAW, Reply
from jobs import cli
from jobs.pull import run_pull
from jobs.sources import statcounter, top500
from jobs.sources.config import SourceConfig
from jobs.sources.http import HttpOptions
from jobs.store import schema

FAST = HttpOptions(timeout=1.0, connect_timeout=1.0, attempts=2, backoff_base=0.01, max_wait=0.05)
OLD_CSV = (RAW / "statcounter" / "vendor-CN-monthly-201003-201911.csv").read_bytes()
NEW_CSV = (RAW / "statcounter" / "vendor-CN-monthly-201003-202404.csv").read_bytes()
KEY = statcounter.SERIES_KEY


def source(server, path, kind="statcounter", name="sc", **options) -> SourceConfig:
    return SourceConfig(name=name, kind=kind, url=server.url + path, schedule="interval:1h",
                        options=options, http=FAST)


def observations(engine, key=KEY) -> dict[dt.date, float]:
    t = schema.observations
    with engine.connect() as conn:
        return {r.date: r.value for r in conn.execute(select(t.c.date, t.c.value).where(t.c.series_key == key))}


def count(engine, table) -> int:
    with engine.connect() as conn:
        return conn.execute(select(func.count()).select_from(table)).scalar_one()


def pulls(engine) -> list[dict]:
    with engine.connect() as conn:
        return [dict(r) for r in conn.execute(select(schema.pulls).order_by(schema.pulls.c.id)).mappings()]


def expected(payload: bytes) -> dict[dt.date, float]:
    frame = statcounter.parse(payload).observations
    return dict(zip(frame["date"], frame["value"]))


def rewrite(payload: bytes, change) -> bytes:
    """Re-emit a StatCounter CSV in its own style (quoted header, bare values) after `change`."""
    rows = list(csv.reader(io.StringIO(payload.decode("utf-8"))))
    header, body = change(rows[0], rows[1:])
    out = ",".join(f'"{h}"' for h in header) + "\n"
    out += "".join(",".join(r) + "\n" for r in body)
    return out.encode("utf-8")


# ---- StatCounter ----------------------------------------------------------------------

def test_first_pull_stores_every_month_and_the_raw_snapshot(any_store, server):
    server.set("/sc.csv", Reply(NEW_CSV, headers={"Content-Type": "text/csv"}))
    result = run_pull(any_store, source(server, "/sc.csv"))
    assert (result.status, result.rows_added, result.rows_changed) == ("ok", 169, 0)
    stored = observations(any_store)
    assert stored == pytest.approx(expected(NEW_CSV))
    assert len(stored) == 169 and dt.date(2010, 3, 1) not in stored  # the all-zero row = missing
    assert min(stored) == dt.date(2010, 4, 1) and max(stored) == dt.date(2024, 4, 1)
    with any_store.connect() as conn:
        snap = conn.execute(select(schema.snapshots)).mappings().one()
    assert snap["content"] == NEW_CSV and snap["size"] == len(NEW_CSV) and snap["http_status"] == 200
    assert snap["url"] == server.url + "/sc.csv" and snap["source"] == "sc"
    (row,) = pulls(any_store)
    assert row["status"] == "ok" and row["snapshot_id"] == snap["id"] and row["rows_added"] == 169
    assert json.loads(row["detail"])["observations_changed"] == 169


def test_an_unchanged_payload_is_a_no_op(store, server):
    server.set("/sc.csv", Reply(NEW_CSV))
    assert run_pull(store, source(server, "/sc.csv")).status == "ok"
    second = run_pull(store, source(server, "/sc.csv"))
    assert (second.status, second.rows_added, second.rows_changed) == ("unchanged", 0, 0)
    assert count(store, schema.snapshots) == 1 and count(store, schema.observations) == 169
    assert [p["status"] for p in pulls(store)] == ["ok", "unchanged"]


def test_304_via_etag_is_unchanged_and_sends_the_validator(store, server):
    server.set("/sc.csv", Reply(NEW_CSV, etag='"abc"'))
    run_pull(store, source(server, "/sc.csv"))
    second = run_pull(store, source(server, "/sc.csv"))
    assert second.status == "unchanged" and "304" in second.detail["reason"]
    assert server.hits("/sc.csv")[1]["If-None-Match"] == '"abc"'
    assert count(store, schema.snapshots) == 1 and count(store, schema.observations) == 169


def test_upstream_revisions_update_values_and_keep_the_earlier_snapshot(store, server):
    server.set("/sc.csv", Reply(OLD_CSV), Reply(NEW_CSV))
    first = run_pull(store, source(server, "/sc.csv"))
    second = run_pull(store, source(server, "/sc.csv"))
    old, new = expected(OLD_CSV), expected(NEW_CSV)
    revised = {d for d in old if abs(old[d] - new[d]) > 1e-9}
    assert revised, "the two real exports differ for some months"
    assert (second.status, second.rows_added, second.rows_changed) == ("ok", len(new) - len(old), len(revised))
    assert observations(store) == pytest.approx(new)
    with store.connect() as conn:
        revisions = conn.execute(select(schema.observation_revisions)).mappings().all()
    assert {r["date"] for r in revisions} == revised
    assert {r["old_snapshot_id"] for r in revisions} == {first.snapshot_id}
    assert {r["new_snapshot_id"] for r in revisions} == {second.snapshot_id}
    assert all(r["old_value"] == pytest.approx(old[r["date"]]) for r in revisions)


def test_reordered_columns_give_the_same_shares(store, server):
    def reverse(header, body):
        order = [0] + list(range(len(header) - 1, 0, -1))
        return [header[i] for i in order], [[r[i] for i in order] for r in body]

    server.set("/sc.csv", Reply(rewrite(NEW_CSV, reverse)))
    assert run_pull(store, source(server, "/sc.csv")).status == "ok"
    assert observations(store) == pytest.approx(expected(NEW_CSV))


def test_a_new_vendor_column_is_reported_not_counted(store, server):
    def add_vendor(header, body):
        other = header.index("Other")
        rows = []
        for r in body:
            moved = 0.5 if float(r[other]) >= 0.5 else 0.0
            rows.append(r[:other] + [f"{float(r[other]) - moved:.2f}"] + r[other + 1:] + [f"{moved:.2f}"])
        return header + ["Brandnew Phones"], rows

    payload = rewrite(NEW_CSV, add_vendor)
    server.set("/sc.csv", Reply(payload))
    result = run_pull(store, source(server, "/sc.csv"))
    assert result.status == "ok" and result.rows_added == 169
    assert any("Brandnew Phones" in w for w in result.detail["warnings"])
    assert result.detail["counts"]["unmapped_vendors"] == ["Brandnew Phones"]
    assert observations(store) == pytest.approx(expected(payload))


def test_all_zero_rows_are_missing_months(store, server):
    def zero_2015_06(header, body):
        return header, [[r[0]] + ["0"] * (len(r) - 1) if r[0] == "2015-06" else r for r in body]

    server.set("/sc.csv", Reply(rewrite(NEW_CSV, zero_2015_06)))
    result = run_pull(store, source(server, "/sc.csv"))
    stored = observations(store)
    assert result.status == "ok" and len(stored) == 168
    assert dt.date(2015, 6, 1) not in stored and dt.date(2015, 5, 1) in stored


def assert_failed_and_untouched(engine, result, kind, *, snapshot_kept):
    assert result.status == "failed" and result.error_kind == kind
    assert (result.rows_added, result.rows_changed) == (0, 0)
    assert count(engine, schema.observations) == 0 and count(engine, schema.observation_revisions) == 0
    assert count(engine, schema.snapshots) == (1 if snapshot_kept else 0)
    row = pulls(engine)[-1]
    assert row["status"] == "failed" and row["error_kind"] == kind and row["error"]
    assert row["finished_at"] is not None


def test_an_html_error_page_is_source_changed_and_kept_for_inspection(store, server):
    page = b"<!DOCTYPE html><html><head><title>Blocked</title></head><body>blocked</body></html>"
    server.set("/sc.csv", Reply(page, headers={"Content-Type": "text/html"}))
    result = run_pull(store, source(server, "/sc.csv"))
    assert_failed_and_untouched(store, result, "SourceChanged", snapshot_kept=True)
    with store.connect() as conn:
        assert conn.execute(select(schema.snapshots.c.content)).scalar_one() == page


def test_503_then_success(store, server):
    server.set("/sc.csv", Reply(b"down", 503, {"Retry-After": "1"}), Reply(NEW_CSV))
    result = run_pull(store, source(server, "/sc.csv"))
    assert result.status == "ok" and result.rows_added == 169
    assert len(server.hits("/sc.csv")) == 2


def test_503_every_time_is_unavailable_and_stores_nothing(store, server):
    server.set("/sc.csv", Reply(b"down", 503))
    result = run_pull(store, source(server, "/sc.csv"))
    assert_failed_and_untouched(store, result, "SourceUnavailable", snapshot_kept=False)
    assert "HTTP 503" in result.error


def test_a_slow_response_past_the_timeout(store, server):
    server.set("/sc.csv", Reply(NEW_CSV, delay=1.3))
    result = run_pull(store, source(server, "/sc.csv"))
    assert_failed_and_untouched(store, result, "SourceUnavailable", snapshot_kept=False)
    assert "timed out" in result.error


def test_a_truncated_body_stores_nothing(store, server):
    server.set("/sc.csv", Reply(NEW_CSV, truncate_to=5000))
    result = run_pull(store, source(server, "/sc.csv"))
    assert_failed_and_untouched(store, result, "SourceUnavailable", snapshot_kept=False)


def test_bad_cells_are_invalid_data_with_row_numbers(store, server):
    def break_cell(header, body):
        return header, [r if r[0] != "2012-01" else [r[0], "n/a"] + r[2:] for r in body]

    server.set("/sc.csv", Reply(rewrite(NEW_CSV, break_cell)))
    result = run_pull(store, source(server, "/sc.csv"))
    assert_failed_and_untouched(store, result, "InvalidData", snapshot_kept=True)
    lines = [r[0] for r in csv.reader(io.StringIO(NEW_CSV.decode()))]
    assert f"row {lines.index('2012-01') + 1}" in result.error and "'n/a'" in result.error


def test_a_failed_pull_after_a_good_one_keeps_the_good_data(store, server):
    server.set("/sc.csv", Reply(OLD_CSV), Reply(b"<html>blocked</html>"))
    run_pull(store, source(server, "/sc.csv"))
    before = observations(store)
    assert run_pull(store, source(server, "/sc.csv")).status == "failed"
    assert observations(store) == before and count(store, schema.observation_revisions) == 0


# ---- TOP500 -----------------------------------------------------------------------------

def test_top500_takes_the_next_list_and_a_404_means_nothing_new(store, server):
    for name in ("TOP500_202511.xlsx", "TOP500_202606.xlsx"):
        server.set(f"/lists/{name}", Reply((RAW / "top500" / name).read_bytes()))
    fixed = source(server, "/lists/TOP500_202511.xlsx", kind="top500", name="top500")
    assert run_pull(store, fixed).status == "ok"
    template = source(server, "/lists/TOP500_{year}{month:02d}.xlsx", kind="top500", name="top500")
    newer = run_pull(store, template)
    assert newer.status == "ok" and newer.rows_added == 2
    cn = observations(store, top500.CN_INSTALLED_KEY)
    assert sorted(cn) == [dt.date(2025, 11, 1), dt.date(2026, 6, 1)]
    parsed = top500.parse((RAW / "top500" / "TOP500_202606.xlsx").read_bytes(), {"filename": "TOP500_202606.xlsx"})
    assert cn[dt.date(2026, 6, 1)] == pytest.approx(parsed.observations.set_index("series_key")
                                                     .loc[top500.CN_INSTALLED_KEY, "value"])
    nothing = run_pull(store, template)  # 2026-11 (and later) are not on the server: 404
    assert nothing.status == "unchanged" and nothing.detail["reason"] == "nothing new published"
    assert any(p.startswith("/lists/TOP500_202611") for p, _ in server.requests)
    assert count(store, schema.observations) == 4


# ---- World Bank ---------------------------------------------------------------------------

def api_pages(per_page: int) -> list[bytes]:
    """The real China values of TX.VAL.TECH.MF.ZS (data/raw bulk CSV) in the API's JSON shape,
    newest year first like the API, paginated; empty years are `null`."""
    rows = list(csv.reader(io.StringIO((RAW / "worldbank" / "API_TX.VAL.TECH.MF.ZS_DS2_en_csv_v2_1859__CHN_only.csv")
                                       .read_text(encoding="utf-8-sig"))))
    header = next(r for r in rows if r[:2] == ["Country Name", "Country Code"])
    china = next(r for r in rows if r[1:2] == ["CHN"])
    items = [{"indicator": {"id": "TX.VAL.TECH.MF.ZS", "value": china[2]},
              "country": {"id": "CN", "value": "China"}, "countryiso3code": "CHN", "date": year,
              "value": float(china[j]) if j < len(china) and china[j].strip() else None,
              "unit": "", "obs_status": "", "decimal": 1}
             for j, year in reversed(list(enumerate(header))) if year.isdigit()]
    pages = [items[i:i + per_page] for i in range(0, len(items), per_page)]
    return [json.dumps([{"page": n + 1, "pages": len(pages), "per_page": per_page, "total": len(items),
                         "sourceid": "2", "lastupdated": "2026-04-08"}, page]).encode()
            for n, page in enumerate(pages)], items


def test_worldbank_api_every_page_as_a_context_series(store, server, monkeypatch):
    pages, items = api_pages(per_page=20)
    assert len(pages) == 4
    path = "/v2/country/CHN/indicator/TX.VAL.TECH.MF.ZS?format=json&per_page=20"
    for n, page in enumerate(pages, start=1):
        server.set(f"{path}&page={n}", Reply(page, headers={"Content-Type": "application/json"}))
    from jobs.sources import worldbank

    monkeypatch.setattr(worldbank, "API_URL", server.url + "/v2/country/{country}/indicator/{code}?format=json&per_page={per_page}")
    src = SourceConfig(name="wb", kind="worldbank", url=None, schedule="interval:1h", http=FAST, options={
        "indicators": ["TX.VAL.TECH.MF.ZS"], "per_page": 20,
        "series_by_indicator": {"TX.VAL.TECH.MF.ZS": "context_hightech_exports_share_worldbank"}})
    result = run_pull(store, src)
    values = {dt.date(int(i["date"]), 1, 1): i["value"] / 100 for i in items if i["value"] is not None}
    assert len(values) == 18  # China 2007-2024 in this WDI vintage; the other years are null
    assert result.status == "ok" and result.rows_added == 18
    assert observations(store, "context_hightech_exports_share_worldbank") == pytest.approx(values)
    assert result.detail["counts"]["empty_years"] == len(items) - 18
    with store.connect() as conn:
        kind = conn.execute(select(schema.series.c.kind).where(
            schema.series.c.key == "context_hightech_exports_share_worldbank")).scalar_one()
    assert kind == "context"


def test_worldbank_new_indicator_gets_its_series_row_from_sources_toml(store, server):
    payload = json.dumps([{"page": 1, "pages": 1, "per_page": 50, "total": 2}, [
        {"indicator": {"id": "TM.VAL.ICTG.ZS.UN"}, "countryiso3code": "CHN", "date": "2023", "value": None},
        {"indicator": {"id": "TM.VAL.ICTG.ZS.UN"}, "countryiso3code": "CHN", "date": "2022", "value": None},
    ]]).encode()
    server.set("/ict.json", Reply(payload))
    from jobs.sources.config import load_config
    from jobs.settings import REPO_DATA_DIR

    default = load_config(REPO_DATA_DIR / "sources.toml").source("worldbank-ict-goods-imports")
    src = SourceConfig(name=default.name, kind="worldbank", url=server.url + "/ict.json",
                       schedule=default.schedule, options=default.options, http=FAST)
    result = run_pull(store, src)
    assert result.status == "ok" and result.rows_added == 0  # the API had only nulls
    with store.connect() as conn:
        row = conn.execute(select(schema.series).where(
            schema.series.c.key == "context_ict_goods_imports_share_worldbank")).mappings().one()
    assert (row["kind"], row["origin"], row["technology"]) == ("context", "pull", "trade")


# ---- the command --------------------------------------------------------------------------

def test_domshare_pull_prints_a_summary_and_fails_when_one_source_fails(store, server, tmp_path, capsys):
    server.set("/sc.csv", Reply(NEW_CSV))
    server.set("/down", Reply(b"", 503))
    toml = tmp_path / "sources.toml"
    toml.write_text(f"""
[[sources]]
name = "good"
kind = "statcounter"
url = "{server.url}/sc.csv"
schedule = "interval:1h"
[sources.http]
attempts = 1

[[sources]]
name = "bad"
kind = "statcounter"
url = "{server.url}/down"
schedule = "interval:1h"
[sources.http]
attempts = 2
backoff_base = 0.01

[[sources]]
name = "off"
kind = "statcounter"
url = "{server.url}/never"
enabled = false
""")
    db_url = str(store.url)
    code = cli.main(["pull", "--db", db_url, "--sources", str(toml)])
    out = capsys.readouterr().out
    assert code == 5
    assert "good" in out and "bad" in out and "off" not in out.split("\n\n")[0]
    assert "SourceUnavailable" in out and "1 of 2 pull(s) failed" in out
    assert "No source could be reached" not in out
    assert [(p["source"], p["status"]) for p in pulls(store)] == [("good", "ok"), ("bad", "failed")]
    assert cli.main(["pull", "--db", db_url, "--sources", str(toml), "bad"]) == 5  # as if offline
    assert "No source could be reached: if this machine is offline" in capsys.readouterr().out
    assert cli.main(["pull", "--db", db_url, "--sources", str(toml), "good"]) == 0
    assert pulls(store)[-1]["status"] == "unchanged"


def test_top500_from_a_mirror_folder_walks_the_lists_in_order(store):
    mirror = SourceConfig(name="top500", kind="top500", schedule="interval:1h", http=FAST,
                          url=str(RAW / "top500" / "TOP500_{year}{month:02d}.xls"))
    first, second = run_pull(store, mirror), run_pull(store, mirror)
    assert (first.status, second.status) == ("ok", "ok")
    # the first two lists (1993) had no China-installed system: only the all-systems share
    assert sorted(observations(store, top500.ALL_SYSTEMS_KEY)) == [dt.date(1993, 6, 1), dt.date(1993, 11, 1)]
    assert observations(store, top500.CN_INSTALLED_KEY) == {}
    with store.connect() as conn:
        urls = conn.execute(select(schema.snapshots.c.url).order_by(schema.snapshots.c.id)).scalars().all()
    assert [u.rsplit("/", 1)[1] for u in urls] == ["TOP500_199306.xls", "TOP500_199311.xls"]


def test_worldbank_values_never_land_in_a_domestic_share_series(store, server):
    pages, _ = api_pages(per_page=100)
    server.set("/wb.json", Reply(pages[0]))
    src = SourceConfig(name="wb", kind="worldbank", url=server.url + "/wb.json", schedule="interval:1h",
                       http=FAST, options={"series_by_indicator": {"TX.VAL.TECH.MF.ZS": KEY}})
    result = run_pull(store, src)
    assert (result.status, result.error_kind) == ("failed", "InvalidData")
    assert f"series {KEY!r} is domestic_share" in result.error
    assert count(store, schema.observations) == 0


# ---- payloads that would rewrite history ------------------------------------------------

def swap_columns(first: str, second: str):
    """A header drift: two vendors' columns exchange names (values stay where they were)."""
    def change(header, body):
        i, j = header.index(first), header.index(second)
        header = list(header)
        header[i], header[j] = header[j], header[i]
        return header, body
    return change


def sources_file(tmp_path, server, path, name="sc", extra="") -> str:
    toml = tmp_path / "sources.toml"
    toml.write_text(f'[[sources]]\nname = "{name}"\nkind = "statcounter"\nurl = "{server.url}{path}"\n'
                    f'schedule = "interval:1h"\n{extra}', encoding="utf-8")
    return str(toml)


def test_a_payload_revising_much_of_the_history_is_held_until_accepted(store, server, tmp_path, capsys):
    swapped = rewrite(NEW_CSV, swap_columns("Huawei", "Samsung"))
    server.set("/sc.csv", Reply(NEW_CSV), Reply(swapped))
    toml = sources_file(tmp_path, server, "/sc.csv")
    args = ["pull", "--db", str(store.url), "--sources", toml, "sc"]
    assert cli.main(args) == 0
    before = observations(store)
    assert cli.main(args) == 5
    out = capsys.readouterr().out
    assert "RevisionsHeld" in out and "--accept-revisions" in out and KEY in out
    assert observations(store) == before and count(store, schema.observation_revisions) == 0
    assert count(store, schema.snapshots) == 2  # the held payload is kept for inspection
    assert pulls(store)[-1]["error_kind"] == "RevisionsHeld"
    assert cli.main(args) == 5  # held again: a held payload never counts as the last good one
    assert cli.main(args + ["--accept-revisions"]) == 0
    assert observations(store) == pytest.approx(expected(swapped))
    assert count(store, schema.observation_revisions) > 0.1 * len(before)


def test_the_revision_limit_is_configurable(store, server, tmp_path):
    swapped = rewrite(NEW_CSV, swap_columns("Huawei", "Samsung"))
    server.set("/sc.csv", Reply(NEW_CSV), Reply(swapped))
    toml = sources_file(tmp_path, server, "/sc.csv", extra="[sources.revisions]\nmax_share = 1.0\n")
    args = ["pull", "--db", str(store.url), "--sources", toml, "sc"]
    assert cli.main(args) == 0 and cli.main(args) == 0
    assert observations(store) == pytest.approx(expected(swapped))
