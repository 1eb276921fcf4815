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
from jobs.sources import policies, statcounter, top500, transcribed, worldbank
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
    }


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


def _targets():
    frame = policies.parse((DATA / "policies.csv").read_bytes()).policies
    return policies.build_targets(frame, list(csv.DictReader(open(DATA / "target_increments.csv", encoding="utf-8"))),
                                  list(csv.DictReader(open(DATA / "target_measures.csv", encoding="utf-8"))))


def test_targets_one_per_sector_and_3_5_2_cumulative():
    targets, warnings = _targets()
    assert warnings == []
    by_id = targets.set_index("id")
    expected = 0
    for r in _policy_rows():
        if r["target_share"]:
            expected += len(r["sectors"].split(";")) * len(r["technology"].split(";"))
    assert len(targets) == expected
    assert by_id.loc["P05-banking", "threshold"] == 1.0
    assert set(by_id.loc[["P05-banking", "P05-military", "P05-soe", "P05-government"], "deadline"]) == {dt.date(2020, 12, 31)}
    assert by_id.loc["P04-banking", "threshold"] == 0.75
    assert [by_id.loc[f"{p}-government-os", "threshold"] for p in ("P11", "P12", "P13")] == pytest.approx([0.3, 0.8, 1.0])
    assert by_id.loc["P09-semiconductors", "measure"] == "direct"
    assert by_id.loc["P09-semiconductors", "series_key"] == transcribed.IC_CHINA_LOCATED


def test_target_measures_table_is_complete_and_consistent():
    targets, _ = _targets()
    measures = list(csv.DictReader(open(DATA / "target_measures.csv", encoding="utf-8")))
    series = {r["key"]: r for r in csv.DictReader(open(DATA / "series.csv", encoding="utf-8"))}
    assert sorted(r["target_id"] for r in measures) == sorted(targets["id"])
    for r in measures:
        assert r["reason"].strip(), r["target_id"]
        assert r["measure"] in ("direct", "proxy", "")
        if r["measure"]:
            assert series[r["series_key"]]["kind"] == "domestic_share", r["target_id"]
        else:
            assert r["series_key"] == ""
