"""Hand-transcribed tables in data/transcribed/ (CAICT, IC Insights, servers, DB/OS).

Each file has its own header; `parse` recognises it and applies that table's rules
(below). Rows a rule does not turn into an observation are counted in
`Parsed.counts` with the reason, never silently dropped. Percent -> fraction 0-1.

CAICT phone shipments: foreign-share rows become domestic = 100 - foreign. Only
`month` and `year` rows are stored (two series, one period type each); `ytd`
(Jan..M cumulative) and `half_year` rows share a start date with other rows of
other lengths, so they are counted as `cumulative_not_stored`.
IC Insights: actuals only (forecasts are not observations); China-located
production and China-HQ production are separate series; other firms' figures
(IBS, TechInsights) use other methods and are counted, not stored.
Servers: Omdia quarterly revenue shares only: Inspur alone (context) and
Inspur+Huawei where both are given (a lower bound of domestic share). IDC's single
point (other firm) and MIC's unquantified 'over 70%' are counted, not stored.
Databases/OS: only metrics with a clear domestic meaning (rules in DB_OS_RULES): the
domestic database share, the top-5 domestic vendors (a lower bound), the domestic OS
share of new PCs, and StatCounter's Linux desktop share (an upper bound of the domestic
OS share: Kylin, UOS and deepin report as Linux).
"""
from __future__ import annotations

import datetime as dt
import re
from collections import Counter, defaultdict
from typing import Mapping

import pandas as pd

from jobs.errors import InvalidData, SourceChanged
from jobs.sources.base import (
    EVIDENCE_COLUMNS, OBS_DATE, OBS_KIND, OBS_NOTE, OBS_PERIOD_TYPE, OBS_QUOTE, OBS_RELIABILITY, OBS_SERIES,
    OBS_SOURCE_URL, OBS_VALUE, OBSERVATION_COLUMNS, Parsed,
)
from jobs.sources.evidence import parse_period, read_table, reliability
from jobs.validate import parse_number

SOURCE = "transcribed"
CAICT_MONTHLY = "phones_shipments_caict_domestic_share_monthly"
CAICT_ANNUAL = "phones_shipments_caict_domestic_share_annual"
IC_CHINA_LOCATED = "chips_ic_self_sufficiency_ic_insights"
IC_CHINA_HQ = "chips_ic_self_sufficiency_china_hq_ic_insights"
SERVERS_INSPUR = "servers_inspur_revenue_share_omdia"
SERVERS_INSPUR_HUAWEI = "servers_inspur_huawei_revenue_share_omdia"
DB_DOMESTIC = "databases_domestic_share_broker"
DB_TOP5 = "databases_top5_domestic_vendors_share_frost"
OS_NEW_PCS = "os_domestic_share_new_pcs"
OS_LINUX_UPPER = "os_desktop_domestic_share_upper_bound_statcounter_cited"

# (technology, metric prefix) -> series: the only DB/OS metrics with a domestic meaning.
DB_OS_RULES = {
    ("databases", "domestic (国产) database share"): DB_DOMESTIC,
    ("databases", "combined share of top-5 domestic vendors"): DB_TOP5,
    ("os", "domestic PC OS share of new PC shipments"): OS_NEW_PCS,
    # Kylin, UOS and deepin report as Linux: the Linux share bounds the domestic OS share above
    ("os", "Linux share of desktop OS in China (StatCounter)"): OS_LINUX_UPPER,
}
CHINESE_SERVER_VENDORS = ("Inspur", "Huawei")

HEADERS = {
    "caict": {"period_start", "period_type", "share_pct", "share_basis", "source_url"},
    "ic_insights": {"year", "metric", "value_pct", "status", "firm", "source_url"},
    "servers": {"period", "metric", "vendor", "value_pct", "firm", "source_url"},
    "database_os": {"technology", "period", "metric", "value_pct", "source_url", "reliability_note"},
}


def _rows(raw: bytes, where: str) -> tuple[str, list[tuple[int, dict]]]:
    columns, rows = read_table(raw, where)
    kind = next((k for k, need in HEADERS.items() if need <= columns), None)
    if kind is None:
        raise SourceChanged(f"{where}: header {sorted(columns)} matches no transcribed table")
    return kind, rows


def _pct(row: dict, column: str, where: str, number: int, problems: list) -> float | None:
    cell = (row.get(column) or "").strip()
    value = parse_number(cell)
    if value is None:
        problems.append((where, number, f"{column} {cell!r} is not a number"))
        return None
    if not 0.0 <= value <= 100.0:
        problems.append((where, number, f"{column} {value} is not a percentage 0-100"))
        return None
    return value


# Series whose every value bounds the domestic share: a few vendors only (lower), Linux (upper).
BOUND_OF_SERIES = {SERVERS_INSPUR_HUAWEI: "lower_bound", DB_TOP5: "lower_bound", OS_LINUX_UPPER: "upper_bound"}


def _obs(key, date, pct, period_type, url, note, row: dict) -> dict:
    """One observation; the row gives its quote and, from its notes, its reliability."""
    flags = " ".join((row.get(c) or "") for c in ("note", "reliability_note"))
    return {OBS_SERIES: key, OBS_DATE: date, OBS_VALUE: pct / 100.0, OBS_PERIOD_TYPE: period_type,
            OBS_SOURCE_URL: url, OBS_NOTE: note or None,
            OBS_KIND: BOUND_OF_SERIES.get(key, "exact"),
            OBS_QUOTE: (row.get("quote") or "").strip() or None, OBS_RELIABILITY: reliability(flags)}


def _month_start(label: str) -> dt.date:
    year, month = label.strip().split("-")[:2]
    return dt.date(int(year), int(month), 1)


def _caict(rows, where, problems, counts):
    out = []
    for number, row in rows:
        ptype = row["period_type"].strip()
        if ptype not in ("month", "year"):
            counts["cumulative_not_stored"] += 1
            continue
        pct = _pct(row, "share_pct", where, number, problems)
        try:
            start = _month_start(row["period_start"])
        except ValueError:
            problems.append((where, number, f"period_start {row['period_start']!r} is not YYYY-MM"))
            continue
        if pct is None:
            continue
        basis = row["share_basis"].strip()
        note = (row.get("note") or "").strip()
        if basis == "foreign":
            note = f"converted: domestic = 100 - foreign {pct}%. {note}".strip()
            pct = 100.0 - pct
            counts["converted_from_foreign"] += 1
        elif basis != "domestic":
            problems.append((where, number, f"share_basis {basis!r} is neither domestic nor foreign"))
            continue
        key = CAICT_MONTHLY if ptype == "month" else CAICT_ANNUAL
        out.append(_obs(key, start, pct, ptype, row["source_url"].strip(), note, row))
    return out


def _ic_insights(rows, where, problems, counts):
    out = []
    for number, row in rows:
        metric, firm = row["metric"].strip(), row["firm"].strip()
        if row["status"].strip() != "actual":
            counts["forecast_not_stored"] += 1
            continue
        if firm != "IC Insights":
            counts["other_methodology_not_stored"] += 1
            continue
        key = IC_CHINA_HQ if "China-headquartered" in metric else (
            IC_CHINA_LOCATED if metric.startswith("IC production in China") else None)
        if key is None:
            counts["unknown_metric_not_stored"] += 1
            continue
        pct = _pct(row, "value_pct", where, number, problems)
        if pct is not None:
            out.append(_obs(key, dt.date(int(row["year"]), 1, 1), pct, "year",
                            row["source_url"].strip(), row.get("note", "").strip(), row))
    return out


def _quarter_start(label: str) -> dt.date | None:
    match = re.fullmatch(r"(\d{4})Q([1-4])", label.strip())
    return dt.date(int(match.group(1)), 3 * int(match.group(2)) - 2, 1) if match else None


def _servers(rows, where, problems, counts):
    by_quarter: dict[dt.date, dict[str, tuple[float, str]]] = defaultdict(dict)
    for number, row in rows:
        start = _quarter_start(row["period"])
        if "Omdia" not in row["firm"] or start is None:
            counts["other_firm_or_unquantified_not_stored"] += 1
            continue
        pct = _pct(row, "value_pct", where, number, problems)
        if pct is not None:
            by_quarter[start][row["vendor"].strip()] = (pct, row["source_url"].strip(), row)
    out = []
    for start, vendors in sorted(by_quarter.items()):
        if "Inspur" in vendors:
            pct, url, row = vendors["Inspur"]
            out.append(_obs(SERVERS_INSPUR, start, pct, "quarter", url, "Inspur alone (Omdia revenue share)", row))
        if all(v in vendors for v in CHINESE_SERVER_VENDORS):
            total = sum(vendors[v][0] for v in CHINESE_SERVER_VENDORS)
            parts = " + ".join(f"{v} {vendors[v][0]}%" for v in CHINESE_SERVER_VENDORS)
            quotes = {vendors[v][2]["quote"].strip(): None for v in CHINESE_SERVER_VENDORS}
            out.append(_obs(SERVERS_INSPUR_HUAWEI, start, total, "quarter", vendors["Huawei"][1],
                            f"lower bound of domestic share: {parts} (other Chinese vendors not given)",
                            {"quote": " / ".join(quotes)}))
    return out


def _database_os(rows, where, problems, counts):
    out = []
    for number, row in rows:
        tech, metric = row["technology"].strip(), row["metric"].strip()
        key = next((k for (t, prefix), k in DB_OS_RULES.items()
                    if t == tech and metric.startswith(prefix)), None)
        if key is None:
            counts["no_clear_domestic_meaning_not_stored"] += 1
            continue
        period = parse_period(row["period"])
        if period is None:
            problems.append((where, number, f"period {row['period']!r} is not a year or a month"))
            continue
        pct = _pct(row, "value_pct", where, number, problems)
        if pct is not None:
            note = "; ".join(x for x in (row.get("firm", "").strip(), row["reliability_note"].strip()) if x)
            out.append(_obs(key, period[0], pct, period[1], row["source_url"].strip(), note, row))
    return out


RULES = {"caict": _caict, "ic_insights": _ic_insights, "servers": _servers, "database_os": _database_os}


def parse(raw: bytes, options: Mapping | None = None) -> Parsed:
    """Options: where (file name for messages)."""
    options = dict(options or {})
    where = options.get("where", "transcribed CSV")
    kind, rows = _rows(raw, where)
    problems: list = []
    counts: Counter = Counter()
    records = RULES[kind](rows, where, problems, counts)
    frame = pd.DataFrame(records, columns=OBSERVATION_COLUMNS + EVIDENCE_COLUMNS)
    dupes = frame[frame.duplicated([OBS_SERIES, OBS_DATE], keep=False)]
    for _, row in dupes.iterrows():
        problems.append((where, None, f"{row[OBS_SERIES]} has two values for {row[OBS_DATE]}"))
    if problems:
        raise InvalidData(f"{where}: {len(problems)} bad row(s)", problems)
    frame = frame.sort_values([OBS_SERIES, OBS_DATE]).reset_index(drop=True)
    return Parsed(observations=frame, counts={"table": kind, "rows": len(rows),
                                              "stored": len(frame), **counts})
