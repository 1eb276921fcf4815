"""Every source parser on the real bundled files, plus the live-shape edge cases.

Expected numbers are computed here by an independent, simpler reading of the raw file
(pandas / csv) or are facts stated in PROVENANCE.md, never copied from parser output.
"""
from __future__ import annotations

import csv
import datetime as dt
import io
import json
from pathlib import Path

import openpyxl
import pandas as pd
import pytest

from jobs.errors import InvalidData, SourceChanged
from jobs.sources import evidence, policies, statcounter, top500, transcribed, worldbank
from jobs.sources.mappings import read_mapping

DATA = Path(__file__).resolve().parent.parent / "data"
TOP500_DIR = DATA / "raw" / "top500"
SC_NEW = DATA / "raw" / "statcounter" / "vendor-CN-monthly-201003-202404.csv"
SC_OLD = DATA / "raw" / "statcounter" / "vendor-CN-monthly-201003-201911.csv"
WB = DATA / "raw" / "worldbank" / "API_TX.VAL.TECH.MF.ZS_DS2_en_csv_v2_1859__CHN_only.csv"
TRANSCRIBED = DATA / "transcribed"


# ---------------------------------------------------------------- TOP500

def _independent_china_rows(path: Path) -> pd.DataFrame:
    """Ranked rows installed in China, read with pandas (header = the row holding 'Rank')."""
    raw = pd.read_excel(path, header=None, engine="xlrd" if path.suffix == ".xls" else "openpyxl")
    header_row = next(i for i in range(10) if "Rank" in [str(v).strip() for v in raw.iloc[i]])
    frame = raw.iloc[header_row + 1:].copy()
    frame.columns = [str(v).strip() for v in raw.iloc[header_row]]
    frame = frame[pd.to_numeric(frame["Rank"], errors="coerce").notna()]
    return frame, frame[frame["Country"].astype(str).str.strip() == "China"]


@pytest.mark.parametrize("name", ["TOP500_199306.xls", "TOP500_200206.xls", "TOP500_201406.xls",
                                  "TOP500_201506.xls", "TOP500_201911.xls", "TOP500_202606.xlsx"])
def test_top500_china_installed_counts_match_an_independent_reading(name):
    path = TOP500_DIR / name
    parsed = top500.parse(path.read_bytes(), {"filename": name})
    everything, china = _independent_china_rows(path)
    assert parsed.counts["systems"] == len(everything) == 500
    assert parsed.counts["china_installed"] == len(china)
    assert parsed.warnings == []


def test_top500_known_facts_from_provenance():
    facts = {"TOP500_201911.xls": 228, "TOP500_202606.xlsx": 31, "TOP500_201506.xls": 37, "TOP500_201511.xls": 109}
    for name, count in facts.items():
        assert top500.parse((TOP500_DIR / name).read_bytes(), {"filename": name}).counts["china_installed"] == count


def test_top500_all_67_lists_parse_with_every_manufacturer_mapped():
    files = sorted(TOP500_DIR.glob("TOP500_*"))
    assert len(files) == 67
    months = []
    for path in files:
        parsed = top500.parse(path.read_bytes(), {"filename": path.name})
        assert parsed.counts["systems"] == 500, path.name
        assert parsed.warnings == [], path.name
        keys = set(parsed.observations["series_key"])
        assert top500.ALL_SYSTEMS_KEY in keys
        # a share only where China has systems: no invented value for empty lists
        assert (top500.CN_INSTALLED_KEY in keys) == (parsed.counts["china_installed"] > 0)
        months.append(parsed.observations["date"].iloc[0])
    assert months[0] == dt.date(1993, 6, 1) and months[-1] == dt.date(2026, 6, 1)
    assert len(set(months)) == 67


def test_top500_chinese_vendor_share_2019_11_independent():
    # Independent: China-installed rows whose maker names one of the big Chinese builders.
    path = TOP500_DIR / "TOP500_201911.xls"
    _, china = _independent_china_rows(path)
    chinese_names = ("lenovo", "inspur", "sugon", "dawning", "huawei", "nudt", "nrcpc",
                     "national research center of parallel", "fastonetech")
    makers = china["Manufacturer"].astype(str).str.strip().str.lower()
    joint = makers.str.contains("/") | makers.str.contains(",")
    chinese = makers.apply(lambda m: any(m.startswith(n) for n in chinese_names)) & ~joint
    parsed = top500.parse(path.read_bytes(), {"filename": path.name})
    value = parsed.observations.set_index("series_key").loc[top500.CN_INSTALLED_KEY, "value"]
    assert value == pytest.approx(chinese.sum() / len(china))
    assert 0.9 < value <= 1.0


def test_top500_lenovo_spelling_variants_map_to_chinese():
    mapping = read_mapping(DATA / "top500_manufacturer_origin.csv", "manufacturer")
    for variant in ("Lenovo", "lenovo", "Dawning", "Sugon", "Langchao", "Inspur", "NRCPC",
                    "National Research Center of Parallel Computer Engineering & Technology"):
        assert mapping[" ".join(variant.split()).casefold()] == "chinese", variant
    assert mapping["ibm"] == "foreign"


def _workbook(rows: list[list]) -> bytes:
    book = openpyxl.Workbook()
    sheet = book.active
    for row in rows:
        sheet.append(row)
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def test_top500_header_found_anywhere_and_unmapped_maker_is_a_warning_not_counted():
    raw = _workbook([
        ["TOP500 List - June 2030"], [],
        ["Rank", "Site", "Manufacturer", "Country"],
        [1, "A", "Inspur", "China"],
        [2, "B", "Brand New Maker", "China"],
        [3, "C", "IBM", "China"],
        [4, "D", "HPE", "United States"],
        ["Notes: footer"],
    ])
    parsed = top500.parse(raw, {"list_month": "2030-06"})
    assert parsed.counts["systems"] == 4 and parsed.counts["china_installed"] == 3
    assert any("Brand New Maker" in w for w in parsed.warnings)
    share = parsed.observations.set_index("series_key")["value"]
    assert share[top500.CN_INSTALLED_KEY] == pytest.approx(1 / 2)  # unmapped one left out
    assert share[top500.ALL_SYSTEMS_KEY] == pytest.approx(1 / 3)
    assert parsed.observations["date"].iloc[0] == dt.date(2030, 6, 1)


def test_top500_bad_payloads():
    with pytest.raises(SourceChanged):
        top500.parse(b"<html><body>Please log in</body></html>", {"list_month": "2030-06"})
    with pytest.raises(SourceChanged, match="Country"):
        top500.parse(_workbook([["Rank", "Manufacturer"], [1, "IBM"]]), {"list_month": "2030-06"})
    with pytest.raises(InvalidData) as err:
        top500.parse(_workbook([["Rank", "Manufacturer", "Country"], [1, "IBM", "USA"], [2, "IBM", None]]),
                     {"list_month": "2030-06"})
    assert err.value.problems[0][1] == 3  # sheet row of rank 2


# ---------------------------------------------------------------- StatCounter

def _independent_statcounter_share(path: Path, month: str) -> float:
    origin = {r["vendor"]: r["origin"] for r in csv.DictReader(io.StringIO((DATA / "statcounter_vendor_origin.csv").read_text()))}
    row = next(r for r in csv.DictReader(io.StringIO(path.read_text())) if r["Date"] == month)
    domestic = sum(float(v) for k, v in row.items() if origin.get(k) == "domestic")
    counted = sum(float(v) for k, v in row.items() if origin.get(k) in ("domestic", "foreign", "ambiguous"))
    return domestic / counted


def test_statcounter_real_exports():
    new = statcounter.parse(SC_NEW.read_bytes())
    old = statcounter.parse(SC_OLD.read_bytes())
    assert new.warnings == [] and old.warnings == []
    assert (new.counts["months"], new.counts["missing_months"]) == (169, 1)
    assert (old.counts["months"], old.counts["missing_months"]) == (116, 1)
    obs = new.observations.set_index("date")["value"]
    assert obs.index.min() == dt.date(2010, 4, 1) and obs.index.max() == dt.date(2024, 4, 1)
    assert dt.date(2010, 3, 1) not in obs.index  # the all-zero row is a missing month
    for month in ("2015-06", "2019-10", "2024-04"):
        y, m = map(int, month.split("-"))
        assert obs[dt.date(y, m, 1)] == pytest.approx(_independent_statcounter_share(SC_NEW, month))
    assert obs.between(0, 1).all()


def test_statcounter_columns_in_any_order_give_the_same_shares():
    rows = list(csv.reader(io.StringIO(SC_NEW.read_text())))
    order = [0] + list(range(len(rows[0]) - 1, 0, -1))
    shuffled = "\n".join(",".join(r[i] for i in order) for r in rows).encode()
    a = statcounter.parse(SC_NEW.read_bytes()).observations
    b = statcounter.parse(shuffled).observations
    pd.testing.assert_frame_equal(a.drop(columns="note"), b.drop(columns="note"))


def test_statcounter_new_vendor_is_a_warning_and_not_counted():
    raw = b'"Date","Apple","Huawei","Zeta Phones","Unknown"\n2024-05,40,45,10,5\n2024-06,0,0,0,0\n'
    parsed = statcounter.parse(raw)
    assert any("Zeta Phones" in w for w in parsed.warnings)
    assert parsed.counts["unmapped_vendors"] == ["Zeta Phones"]
    assert len(parsed.observations) == 1
    assert parsed.observations["value"].iloc[0] == pytest.approx(45 / 85)


def test_statcounter_single_month_export_needs_the_month():
    raw = b'"Device Vendor","Market Share Perc. (Mar 2024)"\n"Apple",30\n"Huawei",60\n"Unknown",10\n'
    parsed = statcounter.parse(raw, {"month": "2024-03"})
    assert parsed.observations["date"].tolist() == [dt.date(2024, 3, 1)]
    assert parsed.observations["value"].iloc[0] == pytest.approx(60 / 90)
    with pytest.raises(InvalidData, match="month"):
        statcounter.parse(raw)


def test_statcounter_html_and_bad_rows():
    with pytest.raises(SourceChanged):
        statcounter.parse(b"<html>blocked</html>")
    raw = b'"Date","Apple","Huawei"\n2024-01,40,60\n2024-02,abc,60\n2024/03,40,60\n2024-04,50,50\n'
    with pytest.raises(InvalidData) as err:
        statcounter.parse(raw)
    assert sorted(row for _, row, _ in err.value.problems) == [3, 4]


# ---------------------------------------------------------------- World Bank

def test_worldbank_bulk_csv_real_file():
    parsed = worldbank.parse(WB.read_bytes())
    china = next(r for r in csv.reader(io.StringIO(WB.read_text())) if len(r) > 1 and r[1] == "CHN")
    header = next(r for r in csv.reader(io.StringIO(WB.read_text())) if r[:1] == ["Country Name"])
    expected = {int(y): float(v) / 100 for y, v in zip(header[4:], china[4:]) if v}
    obs = parsed.observations
    assert len(obs) == len(expected) == 18
    assert {d.year: v for d, v in zip(obs["date"], obs["value"])} == pytest.approx(expected)
    assert set(obs["series_key"]) == {"context_hightech_exports_share_worldbank"}


def test_worldbank_json_api_shape():
    payload = [{"page": 1, "pages": 1, "per_page": 50, "total": 3},
               [{"indicator": {"id": "TX.VAL.TECH.MF.ZS", "value": "High-technology exports"},
                 "country": {"id": "CN", "value": "China"}, "countryiso3code": "CHN", "date": "2024", "value": 26.28},
                {"indicator": {"id": "TX.VAL.TECH.MF.ZS"}, "country": {"id": "CN"}, "countryiso3code": "CHN",
                 "date": "2025", "value": None},
                {"indicator": {"id": "TX.VAL.TECH.MF.ZS"}, "country": {"id": "US"}, "countryiso3code": "USA",
                 "date": "2024", "value": 20.0}]]
    parsed = worldbank.parse(json.dumps(payload).encode())
    assert parsed.observations["date"].tolist() == [dt.date(2024, 1, 1)]
    assert parsed.observations["value"].iloc[0] == pytest.approx(0.2628)
    assert parsed.counts["empty_years"] == 1


def test_worldbank_bad_payloads():
    with pytest.raises(SourceChanged):
        worldbank.parse(b"<!DOCTYPE html><html></html>")
    with pytest.raises(SourceChanged):
        worldbank.parse(json.dumps([{"message": [{"id": "120", "value": "Invalid value"}]}]).encode())
    bad = [{"page": 1}, [{"indicator": {"id": "TX.VAL.TECH.MF.ZS"}, "countryiso3code": "CHN",
                          "date": "2024", "value": 140.0}]]
    with pytest.raises(InvalidData, match="percentage"):
        worldbank.parse(json.dumps(bad).encode())


# ---------------------------------------------------------------- transcribed

def _rows(name: str) -> list[dict]:
    return list(csv.DictReader(io.StringIO((TRANSCRIBED / name).read_text(encoding="utf-8"))))


def test_caict_months_and_years_become_two_series_foreign_rows_converted():
    name = "caict_domestic_brand_phone_shipment_share.csv"
    parsed = transcribed.parse((TRANSCRIBED / name).read_bytes())
    rows = _rows(name)
    obs = parsed.observations
    monthly = obs[obs["series_key"] == transcribed.CAICT_MONTHLY]
    annual = obs[obs["series_key"] == transcribed.CAICT_ANNUAL]
    assert len(monthly) == sum(r["period_type"] == "month" for r in rows)
    assert len(annual) == sum(r["period_type"] == "year" for r in rows)
    assert set(monthly["period_type"]) == {"month"} and set(annual["period_type"]) == {"year"}
    assert parsed.counts["cumulative_not_stored"] == sum(r["period_type"] in ("ytd", "half_year") for r in rows)
    foreign = next(r for r in rows if r["share_basis"] == "foreign" and r["period_type"] == "month")
    start = dt.date(*map(int, foreign["period_start"].split("-")), 1)
    assert monthly.set_index("date").loc[start, "value"] == pytest.approx(1 - float(foreign["share_pct"]) / 100)
    full_2025 = next(r for r in rows if r["period_type"] == "year" and r["period_start"] == "2025-01")
    assert annual.set_index("date").loc[dt.date(2025, 1, 1), "value"] == pytest.approx(float(full_2025["share_pct"]) / 100)


def test_ic_insights_actuals_only_and_bases_kept_apart():
    name = "china_ic_self_sufficiency.csv"
    parsed = transcribed.parse((TRANSCRIBED / name).read_bytes())
    rows = _rows(name)
    obs = parsed.observations
    located = obs[obs["series_key"] == transcribed.IC_CHINA_LOCATED]
    hq = obs[obs["series_key"] == transcribed.IC_CHINA_HQ]
    expected = {int(r["year"]): float(r["value_pct"]) / 100 for r in rows
                if r["status"] == "actual" and r["firm"] == "IC Insights" and r["metric"].startswith("IC production in China")}
    assert {d.year: v for d, v in zip(located["date"], located["value"])} == pytest.approx(expected)
    assert len(hq) == 3 and hq["value"].max() < 0.07
    forecast_years = {int(r["year"]) for r in rows if r["status"] == "forecast"}
    assert not forecast_years & {d.year for d in obs["date"]}
    assert parsed.counts["forecast_not_stored"] == len(forecast_years)


def test_servers_and_database_os_only_clear_domestic_meanings():
    servers = transcribed.parse((TRANSCRIBED / "china_server_vendor_share.csv").read_bytes()).observations
    lower = servers[servers["series_key"] == transcribed.SERVERS_INSPUR_HUAWEI].set_index("date")["value"]
    assert lower.to_dict() == pytest.approx({dt.date(2019, 10, 1): 0.58, dt.date(2020, 1, 1): 0.59})
    dbos = transcribed.parse((TRANSCRIBED / "china_database_os_observations.csv").read_bytes()).observations
    got = {(k, d.year): round(v, 4) for k, d, v in zip(dbos["series_key"], dbos["date"], dbos["value"])}
    assert got == {
        (transcribed.DB_DOMESTIC, 2020): 0.47,
        (transcribed.DB_TOP5, 2018): 0.271, (transcribed.DB_TOP5, 2022): 0.554,
        (transcribed.OS_NEW_PCS, 2021): 0.05, (transcribed.OS_NEW_PCS, 2022): 0.09,
        (transcribed.OS_LINUX_UPPER, 2024): 0.009,  # Linux, February 2024
    }
    kinds = dict(zip(dbos["series_key"], dbos["kind"]))
    assert (kinds[transcribed.DB_TOP5], kinds[transcribed.OS_LINUX_UPPER], kinds[transcribed.DB_DOMESTIC]) == (
        "lower_bound", "upper_bound", "exact")
    assert dbos.loc[dbos["series_key"] == transcribed.OS_NEW_PCS, "reliability"].eq("low").all()


def test_transcribed_unknown_header_and_bad_value():
    with pytest.raises(SourceChanged):
        transcribed.parse(b"a,b\n1,2\n")
    raw = (b"year,metric,value_pct,status,firm,source_url\n"
           b"2020,IC production in China as % of China IC market,15.9,actual,IC Insights,u\n"
           b"2021,IC production in China as % of China IC market,lots,actual,IC Insights,u\n")
    with pytest.raises(InvalidData) as err:
        transcribed.parse(raw, {"where": "ic.csv"})
    assert err.value.problems == [("ic.csv", 3, "value_pct 'lots' is not a number")]


# ---------------------------------------------------------------- policies and targets

def test_policies_keep_ids_and_date_precision():
    frame = policies.parse((DATA / "policies.csv").read_bytes()).policies.set_index("id")
    raw = _policy_rows()
    assert list(frame.index) == [r["id"] for r in raw]
    for r in raw:
        precision = {4: "year", 7: "month", 10: "day"}[len(r["date"])]
        assert frame.loc[r["id"], "date_precision"] == precision, r["id"]
    assert frame.loc["P15", "date"] == dt.date(2020, 1, 1)
    assert frame.loc["P01", "date"] == dt.date(2014, 2, 1)
    assert frame.loc["P04", "deadline"] == dt.date(2019, 12, 31)


def _policy_rows() -> list[dict]:
    return list(csv.DictReader(io.StringIO((DATA / "policies.csv").read_text(encoding="utf-8"))))


def _read(name: str) -> list[dict]:
    return list(csv.DictReader(open(DATA / name, encoding="utf-8")))


def _all_policies() -> pd.DataFrame:
    return pd.concat([policies.parse((DATA / name).read_bytes()).policies for name in ("policies.csv", "policies_new.csv")],
                     ignore_index=True)


def _targets():
    return policies.build_targets(_all_policies(), _read("target_increments.csv"), _read("target_measures.csv"),
                                  _read("target_encodings.csv"))


def test_targets_one_per_sector_and_3_5_2_cumulative():
    targets, warnings = _targets()
    assert warnings == []
    by_id = targets.set_index("id")
    encodings = {r["policy_id"]: r for r in _read("target_encodings.csv")}
    expected = 0
    for name in ("policies.csv", "policies_new.csv"):
        for r in _read(name):
            enc = encodings.get(r["id"], {})
            if r["target_share"] and r["deadline"] and not enc.get("duplicate_of"):
                expected += (len((enc.get("sectors") or r["sectors"]).split(";"))
                             * len((enc.get("technologies") or r["technology"]).split(";")))
    assert len(targets) == expected
    assert by_id.loc["P04-banking", "threshold"] == 0.75
    assert [by_id.loc[f"{p}-government-os", "threshold"] for p in ("P11", "P12", "P13")] == pytest.approx([0.3, 0.8, 1.0])
    assert by_id.loc["P09-semiconductors", "measure"] == "direct"
    assert by_id.loc["P09-semiconductors", "series_key"] == transcribed.IC_CHINA_LOCATED


def test_p05_most_is_a_majority_not_a_complete_purge():
    by_id = _targets()[0].set_index("id")
    for sector in ("banking", "military", "soe", "government"):
        assert by_id.loc[f"P05-{sector}", "threshold"] == 0.5
        assert by_id.loc[f"P05-{sector}", "deadline"] == dt.date(2020, 12, 31)
        assert "'most' is read as a majority" in by_id.loc[f"P05-{sector}", "encoding"]


def test_new_policies_keep_ids_claims_and_are_not_counted_twice():
    frame = policies.with_claims(_all_policies(), _read("policy_claims.csv")).set_index("id")
    assert [f"N0{i}" for i in range(1, 10)] == [i for i in frame.index if i.startswith("N")]
    assert frame.loc["N06", "claim"] == "unofficial" and frame.loc["N08", "claim"] == "claimed"
    assert frame.loc["N03", "claim"] == "claimed" and frame.loc["N01", "claim"] == "official"
    assert frame.loc["N02", "deadline"] == dt.date(2030, 12, 31)
    ids = set(_targets()[0]["id"])
    assert not any(t.startswith("N06") for t in ids)  # N06 is P17's 2027 SOE goal: counted once, as P17
    assert {"P17-soe-all", "N08-finance", "N08-banking", "N05-manufacturing", "N07-semiconductors"} <= ids
    assert not any(t.startswith(("N03", "N04")) for t in ids)  # a share without a deadline is not assessable


def test_a_policy_without_a_claim_is_refused():
    with pytest.raises(InvalidData, match="claim"):
        policies.with_claims(_all_policies(), [r for r in _read("policy_claims.csv") if r["policy_id"] != "N06"])


def test_target_measures_table_is_complete_and_consistent():
    targets, _ = _targets()
    measures = _read("target_measures.csv")
    series = {r["key"]: r for r in _read("series.csv")}
    assert sorted(r["target_id"] for r in measures) == sorted(targets["id"])
    for r in measures:
        assert r["reason"].strip(), r["target_id"]
        assert r["measure"] in ("direct", "proxy", "")
        assert (r["bias"] in ("over", "under", "unknown")) == (r["measure"] == "proxy"), r["target_id"]
        if r["measure"]:
            assert series[r["series_key"]]["kind"] == "domestic_share", r["target_id"]
        else:
            assert r["series_key"] == "" and r["missing_evidence"].strip(), r["target_id"]
        for key in filter(None, r["related_series"].split(";")):
            assert key in series, (r["target_id"], key)


def test_no_target_is_measured_through_another_technology():
    """A proxy is the same technology at another scope: supercomputers never measure banks' IT."""
    technology = {r["key"]: r["technology"] for r in _read("series.csv")}
    targets = _targets()[0]
    measured = targets[targets["series_key"].notna()]
    assert len(measured) > 0
    for t in measured.itertuples():
        assert technology[t.series_key] == t.technology, (t.id, t.series_key)
    named = set(measured["series_key"]) | {k for c in targets["related_series"].dropna() for k in c.split(";")}
    assert not any(technology[k] == "supercomputers" for k in named)


# ---------------------------------------------------------------- evidence tables (PROVENANCE_2/3)

def _evidence(name: str):
    return evidence.parse((TRANSCRIBED / name).read_bytes(), {"where": name, "filename": name, "data_dir": DATA})


def _raw(name: str) -> list[dict]:
    return list(csv.DictReader(io.StringIO((TRANSCRIBED / name).read_text(encoding="utf-8-sig"))))


EVIDENCE_FILES = sorted(r["path"].split("/")[1] for r in _read("manifest.csv") if r["parser"] == "evidence")


def test_value_marks_and_periods():
    assert evidence.parse_value("~70") == ("approximate", 70.0, None)
    assert evidence.parse_value(">30") == ("lower_bound", 30.0, None)
    assert evidence.parse_value("<5") == ("upper_bound", 5.0, None)
    assert evidence.parse_value("16-19") == ("range", 16.0, 19.0)
    assert evidence.parse_value("61") == ("exact", 61.0, None)
    with pytest.raises(ValueError):
        evidence.parse_value("95 -> 0")
    assert evidence.parse_period("2024Q3")[:2] == (dt.date(2024, 7, 1), "quarter")
    assert evidence.parse_period("2023H1")[:2] == (dt.date(2023, 1, 1), "half_year")
    assert evidence.parse_period("2024-2025 (tender)")[:2] == (dt.date(2024, 1, 1), "year")
    assert evidence.parse_period("c.2024 ('如今')")[:2] == (dt.date(2024, 1, 1), "year")
    assert evidence.parse_period("undated (c.2024-2025)") is None


@pytest.mark.parametrize("name", EVIDENCE_FILES)
def test_every_evidence_row_is_stored_or_counted_with_a_reason(name):
    parsed = _evidence(name)
    assert parsed.warnings == []  # every row has a rule
    left_out = sum(v for k, v in parsed.counts.items() if k.endswith("_not_stored"))
    notes = parsed.observations["note"].fillna("")
    parts = notes.str.extract(r"^sum of (\d+)")[0].dropna().astype(int)  # a summed observation's rows
    assert left_out + len(notes) - len(parts) + parts.sum() == len(_raw(name)), parsed.counts
    obs = parsed.observations
    assert obs["quote"].notna().all() and obs["source_url"].str.startswith("http").all()
    assert obs["kind"].isin(["exact", "approximate", "lower_bound", "upper_bound", "range"]).all()


def test_mobile_os_counterpoint_and_techinsights_stay_apart_with_the_range():
    obs = _evidence("china_mobile_os_share.csv").observations
    cp = obs[obs["series_key"] == "os_mobile_harmonyos_share_counterpoint"].set_index("date")
    ti = obs[obs["series_key"] == "os_mobile_harmonyos_share_techinsights"].set_index("date")
    raw = [r for r in _raw("china_mobile_os_share.csv") if r["metric"].startswith("HarmonyOS share of China smartphone sales")]
    assert len(cp[cp["kind"] == "exact"]) == len(raw) == 11
    assert cp.loc[dt.date(2024, 7, 1), "value"] == pytest.approx(0.17)  # Counterpoint, sales
    assert ti.loc[dt.date(2024, 7, 1), "value"] == pytest.approx(0.15)  # TechInsights, shipments
    q1 = cp.loc[dt.date(2025, 1, 1)]  # only the six-quarter '16-19' statement covers 2025Q1
    assert (q1["kind"], q1["value"], q1["value_high"]) == ("range", pytest.approx(0.16), pytest.approx(0.19))
    assert "16%-19%" in q1["quote"]


def test_bounds_approximations_and_conversions_keep_their_meaning():
    cloud = _evidence("china_cloud_share.csv").observations.set_index(["series_key", "date"])
    assert cloud.loc[("cloud_top4_domestic_share_canalys", dt.date(2021, 1, 1)), "kind"] == "lower_bound"  # '>80'
    assert cloud.loc[("cloud_top3_domestic_share_canalys", dt.date(2023, 4, 1)), "kind"] == "lower_bound"  # top-3: bare 72
    chips = _evidence("china_ai_chip_share.csv").observations.set_index("series_key")
    assert chips.loc["ai_accelerators_domestic_share_trendforce", "kind"] == "upper_bound"  # 100 - '~63' foreign
    assert chips.loc["ai_accelerators_domestic_share_trendforce", "value"] == pytest.approx(0.37)
    gd = _evidence("sector_xinchuang_penetration_by_sector.csv").observations.set_index("series_key")
    row = gd.loc["xinchuang_adapted_share_guangdong_government"]
    assert (row["kind"], row["value"]) == ("approximate", pytest.approx(0.20))  # 100 - '~80' still to adapt
    servers = _evidence("china_server_vendor_share_new.csv").observations.set_index(["series_key", "date"])
    x86 = servers.loc["servers_x86_domestic_share_idc"]
    assert x86.loc[dt.date(2013, 1, 1), "kind"] == "exact"
    assert (x86.loc[dt.date(2019, 1, 1), "kind"], x86.loc[dt.date(2019, 1, 1), "value"]) == (
        "lower_bound", pytest.approx(0.287 + 0.164 + 0.131))
    office = _evidence("china_office_software_share.csv").observations.set_index(["series_key", "date"])
    wp = office.loc["office_software_word_processing_domestic_share_peoples_daily"]
    assert list(wp["kind"]) == ["lower_bound", "upper_bound"]  # WPS ~90 (1994); 100 - Microsoft ~90 (2002)


def test_forecasts_and_targets_are_never_observations():
    for name in EVIDENCE_FILES:
        raw = _raw(name)
        if "status" not in raw[0]:
            continue
        parsed = _evidence(name)
        not_actual = sum(r["status"] != "actual" for r in raw)
        assert parsed.counts.get("forecast_not_stored", 0) + parsed.counts.get("target_not_stored", 0) == not_actual
    assert _evidence("sector_soe_doc79_progress.csv").observations.empty


def test_low_reliability_rows_are_labelled():
    pcs = _evidence("china_government_pc_localisation.csv").observations
    assert list(pcs["reliability"]) == ["low"]
    cpu = _evidence("china_cpu_share.csv").observations
    assert cpu["reliability"].isna().all()


def test_china_telecom_tenders_reach_four_points_from_two_files():
    frames = [_evidence(n).observations for n in ("china_cpu_share.csv", "sector_os_cpu_domestic_share.csv")]
    both = pd.concat(frames)
    ct = both[both["series_key"] == "servers_cpu_domestic_share_china_telecom"].set_index("date")["value"]
    assert ct.to_dict() == pytest.approx({dt.date(2020, 1, 1): 0.199, dt.date(2021, 1, 1): 0.267,
                                          dt.date(2022, 1, 1): 0.27, dt.date(2024, 1, 1): 0.675})


def test_evidence_bad_rows_are_named():
    header = "period,metric,value_pct,basis,firm,source_url,published,quote,note\n"
    rows = ('2020,"domestic-CPU servers share of China Telecom centralized server procurement %",lots,domestic,x,http://a,,q,\n'
            '2021,"domestic-CPU servers share of China Telecom centralized server procurement %",120,domestic,x,http://a,,q,\n'
            'someday,"domestic-CPU servers share of China Telecom centralized server procurement %",20,domestic,x,http://a,,q,\n')
    with pytest.raises(InvalidData) as err:
        evidence.parse((header + rows).encode(), {"where": "cpu.csv", "filename": "china_cpu_share.csv", "data_dir": DATA})
    problems = err.value.problems
    assert [p[1] for p in problems] == [2, 3, 4]
    assert "'lots' is not a number" in problems[0][2] and "'120' is not a percentage" in problems[1][2]
    assert "period 'someday' names no single period" in problems[2][2]
    with pytest.raises(SourceChanged):
        evidence.parse(b"a,b\n1,2\n", {"where": "x.csv", "filename": "x.csv", "data_dir": DATA})


def test_a_bad_evidence_rule_is_refused(tmp_path):
    rules = (DATA / "evidence_rules.csv").read_text(encoding="utf-8").splitlines()
    header, first = rules[0], rules[1]
    for bad in (first.replace(",os_mobile_harmonyos_share_counterpoint,", ",,"),  # neither series nor skip
                first.replace(",os_mobile_harmonyos_share_counterpoint,,", ",os_mobile_harmonyos_share_counterpoint,guess,")):
        (tmp_path / "evidence_rules.csv").write_text(f"{header}\n{bad}\n", encoding="utf-8")
        with pytest.raises(InvalidData, match="evidence_rules.csv: row 2"):
            evidence.load_rules(tmp_path, "china_mobile_os_share.csv")
