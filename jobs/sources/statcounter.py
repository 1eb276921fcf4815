"""StatCounter Global Stats CSV exports for China: four stat types, one parser.

`options["stat"]` picks the stat (jobs/sources/statcounter_stats.py):
    vendor (default)  mobile device vendor -> share of Chinese brands
    os                desktop OS -> Linux share of known-OS page views, an UPPER-BOUND
                      proxy for domestic OS (no domestic label exists; Kylin/UOS report as
                      Linux), stored as a context series
    search_engine     all devices -> share of Chinese search engines
    browser           all devices -> share of Chinese browser brands (brand, not engine)
The value is numerator / (sum of the stat's counted classes), labels classified by the
stat's table in data/. Labels of other classes (Unknown, Other, ...) leave the
denominator; `ambiguous` ones (e.g. Motorola, Opera) stay in it but never count as
domestic, so the share is a lower bound there. A label missing from the table is
reported in `warnings` and left out entirely.

Shapes handled: a monthly export (`Date` column + one column per label, any order,
new labels appear), a single-month export (two columns: label, share; the month
comes from options["month"]), all-zero rows (= months without data, skipped).
An HTML body or an unknown header is `SourceChanged`; bad cells are `InvalidData`.
"""
from __future__ import annotations

import csv
import datetime as dt
import io
import re
from typing import Mapping

import pandas as pd

from jobs.errors import ConfigError, InvalidData, SourceChanged
from jobs.sources.base import (
    OBS_DATE, OBS_NOTE, OBS_PERIOD_TYPE, OBS_SERIES, OBS_SOURCE_URL, OBS_VALUE,
    OBSERVATION_COLUMNS, Parsed, payload_text,
)
from jobs.sources.mappings import mapping_option, norm_key
from jobs.sources.statcounter_stats import STATS, Stat
from jobs.validate import parse_number

SOURCE = "statcounter"
SERIES_KEY = STATS["vendor"].series_key
ROW_SUM_RANGE = (98.0, 102.0)  # rows are percentages that sum to ~100 (rounding)
_MONTH = re.compile(r"^\d{4}-\d{2}$")


def _month(label: str, where: str, row: int) -> dt.date:
    label = label.strip()
    if not _MONTH.match(label):
        raise InvalidData(f"{where}: bad month", [(where, row, f"date {label!r} is not YYYY-MM")])
    year, month = int(label[:4]), int(label[5:])
    if not 1 <= month <= 12:
        raise InvalidData(f"{where}: bad month", [(where, row, f"date {label!r} has no such month")])
    return dt.date(year, month, 1)


def stat_for(options: Mapping) -> Stat:
    name = options.get("stat", "vendor")
    if name not in STATS:
        raise ConfigError(f"unknown StatCounter stat {name!r} (known: {', '.join(STATS)})")
    return STATS[name]


def _wide_rows(rows: list[list[str]], options: Mapping, where: str) -> tuple[list[str], list[tuple[int, str, list[str]]]]:
    """Labels and (row number, month label, cells) for either export shape."""
    header = [h.strip() for h in rows[0]]
    if header and header[0].lower() == "date":
        labels = header[1:]
        body = [(i + 2, r[0], r[1:]) for i, r in enumerate(rows[1:]) if any(c.strip() for c in r)]
        for number, _, cells in body:
            if len(cells) != len(labels):
                raise InvalidData(f"{where}: ragged row", [
                    (where, number, f"{len(cells) + 1} cells, header has {len(header)}")])
        return labels, body
    if len(header) == 2:  # single-month export: label, share
        month = options.get("month")
        if not month:
            raise InvalidData(f"{where}: a single-month export has no Date column; "
                              "pass options['month'] = 'YYYY-MM'")
        data = [r for r in rows[1:] if any(c.strip() for c in r)]
        bad = [(where, i + 2, f"{len(r)} cells, expected 2") for i, r in enumerate(rows[1:])
               if any(c.strip() for c in r) and len(r) != 2]
        if bad:
            raise InvalidData(f"{where}: ragged rows", bad)
        return [r[0].strip() for r in data], [(2, str(month), [r[1] for r in data])]
    raise SourceChanged(f"{where}: unexpected StatCounter header {header[:5]}")


def _percentages(labels: list[str], cells: list[str], where: str, number: int, problems: list) -> dict[str, float]:
    """{label: value} of one row; a cell that is not a number is a problem and left out."""
    values = {}
    for label, cell in zip(labels, cells):
        value = parse_number(cell)
        if value is None:
            problems.append((where, number, f"{label}: {cell!r} is not a number"))
            continue
        if not 0.0 <= value <= 100.0:
            problems.append((where, number, f"{label}: {value} is not a percentage 0-100"))
        values[label] = value
    return values


def _classify(values: dict[str, float], origin: dict[str, str], stat: Stat) -> tuple[dict, dict]:
    """(share per counted class, {label: share} of the labels left out of the denominator)."""
    by_class = {c: 0.0 for c in stat.counted}
    left_out: dict[str, float] = {}
    for label, value in values.items():
        cls = origin.get(norm_key(label))
        if cls in by_class:
            by_class[cls] += value
        elif value:
            left_out[label] = value
    return by_class, left_out


REGION = "CN"  # every statcounter source reads China's exports
# StatCounter names its downloads <stat>-<region>-<granularity>-<from>-<to>.csv, e.g.
# vendor-CN-monthly-201003-202404.csv, browser-US-monthly-200901-201910.csv, search_engine-ww-...
_EXPORT_NAME = re.compile(r"^(?P<stat>[a-z_]+(?:-[a-z_]+)*?)-(?P<region>[a-z]{2})-"
                          r"(?P<granularity>daily|weekly|monthly|quarterly|yearly)-\d{4,8}-\d{4,8}", re.I)


def check_identity(options: Mapping, stat: Stat, where: str) -> None:
    """SourceChanged when the URL's query or a file name (the URL's last segment, the server's
    Content-Disposition name) says the payload is another stat, region or granularity than
    this source asks for: a worldwide or US export must never land in a China series."""
    from urllib.parse import parse_qs, urlsplit

    query = {k: v[-1] for k, v in parse_qs(urlsplit(str(options.get("url") or "")).query).items()}
    claims = []
    if "statType_hidden" in query:
        claims.append(("the URL", query["statType_hidden"], query.get("region_hidden", REGION), "monthly"))
    elif "region_hidden" in query:
        claims.append(("the URL", stat.name, query["region_hidden"], "monthly"))
    for origin, name in (("the file name", options.get("filename")), ("the download name", options.get("download_name"))):
        match = _EXPORT_NAME.match(str(name or ""))
        if match:
            claims.append((f"{origin} {name!r}", match["stat"], match["region"], match["granularity"]))
    for origin, named_stat, region, granularity in claims:
        wrong = [f"stat {named_stat!r}, not {stat.name!r}"] if named_stat.lower() != stat.name else []
        wrong += [f"region {region!r}, not {REGION!r}"] if region.upper() != REGION else []
        wrong += [f"{granularity} data, not monthly"] if granularity.lower() != "monthly" else []
        if wrong:
            raise SourceChanged(f"{where}: {origin} names another export ({'; '.join(wrong)}): "
                                "refused, nothing stored (the payload is kept as a snapshot)")


def parse(raw: bytes, options: Mapping | None = None) -> Parsed:
    """Options: stat (see the module docstring), series_key, source_url, month
    ('YYYY-MM', single-month exports only), vendor_origin / label_origin ({label: class};
    default: the stat's bundled table), data_dir, where; url, filename and download_name
    (what the payload was fetched as, see check_identity)."""
    options = dict(options or {})
    stat = stat_for(options)
    check_identity(options, stat, options.get("where", "StatCounter CSV"))
    where = options.get("where", "StatCounter CSV")
    series_key = options.get("series_key", stat.series_key)
    source_url = options.get("source_url", stat.public_url)
    origin = mapping_option(options, stat.mapping_option, stat.mapping_file, stat.mapping_key)

    rows = list(csv.reader(io.StringIO(payload_text(raw, "StatCounter", "CSV", where))))
    if not rows:
        raise SourceChanged(f"{where}: empty CSV")
    labels, body = _wide_rows(rows, options, where)

    unmapped = sorted({v for v in labels if norm_key(v) not in origin})
    problems: list[tuple[str, int | None, str]] = []
    records, seen, missing_months = [], {}, 0
    for number, month_label, cells in body:
        try:
            month = _month(month_label, where, number)
        except InvalidData as exc:
            problems.extend(exc.problems)
            continue
        values = _percentages(labels, cells, where, number, problems)
        if len(values) != len(labels):
            continue
        total = sum(values.values())
        if total == 0:
            missing_months += 1  # StatCounter writes all-zero rows for months without data
            continue
        if not ROW_SUM_RANGE[0] <= total <= ROW_SUM_RANGE[1]:
            problems.append((where, number, f"shares sum to {total:.2f}, not about 100"))
            continue
        if month in seen:
            problems.append((where, number, f"month {month:%Y-%m} repeats row {seen[month]}"))
            continue
        seen[month] = number
        by_class, left_out = _classify(values, origin, stat)
        denominator = sum(by_class.values())
        if denominator <= 0:
            problems.append((where, number, f"no classified {stat.noun} has a share this month"))
            continue
        records.append({
            OBS_SERIES: series_key, OBS_DATE: month,
            OBS_VALUE: by_class[stat.numerator] / denominator, OBS_PERIOD_TYPE: "month",
            OBS_SOURCE_URL: source_url, OBS_NOTE: _note(left_out, by_class.get("ambiguous")),
        })
    if problems:
        raise InvalidData(f"{where}: {len(problems)} bad cell(s)", problems)

    warnings = [f"{where}: unmapped {stat.noun} {v!r} left out of the share (add it to "
                f"data/{stat.mapping_file})" for v in unmapped]
    frame = pd.DataFrame(records, columns=OBSERVATION_COLUMNS)
    frame = frame.sort_values(OBS_DATE).reset_index(drop=True)
    noun = "vendors" if stat.name == "vendor" else "labels"  # `vendors`: the key older readers know
    series = [dict(stat.series, key=series_key)] if stat.series else []
    return Parsed(series=series, observations=frame, warnings=warnings, counts={
        "stat": stat.name, "months": len(records), "missing_months": missing_months,
        noun: len(labels), f"unmapped_{noun}": unmapped,
    })


def _note(left_out: dict[str, float], ambiguous: float | None) -> str:
    """Which labels left the denominator this month, and how much stayed in as ambiguous."""
    out = ", ".join(f"{k} {v:.2f}%" for k, v in sorted(left_out.items(), key=lambda kv: -kv[1]))
    note = f"excluded from denominator: {sum(left_out.values()):.2f}% ({out or 'none'})"
    return note if ambiguous is None else f"{note}; ambiguous: {ambiguous:.2f}%"


# ---- fetch: the only I/O ----------------------------------------------------------

CHART_URL = "https://gs.statcounter.com/chart.php"
FIRST_MONTH = dt.date(2010, 1, 1)  # StatCounter's China history starts in 2010


def export_url(options: Mapping, today: dt.date | None = None) -> str:
    """The stat's chart.php CSV export for China, monthly, 2010-01 to the last complete month.

    Patterns from stored third-party code (LIVE_SOURCES.md §1). `options`: stat, chart_url
    (the endpoint, e.g. a mirror; default CHART_URL), query (overrides any parameter).
    """
    from urllib.parse import quote, urlencode

    today = today or dt.date.today()
    last = today.replace(day=1) - dt.timedelta(days=1)
    params = {
        **stat_for(options).query, "region_hidden": "CN", "granularity": "monthly",
        "region": "China", "fromInt": f"{FIRST_MONTH:%Y%m}", "toInt": f"{last:%Y%m}",
        "fromMonthYear": f"{FIRST_MONTH:%Y-%m}", "toMonthYear": f"{last:%Y-%m}", "csv": "1",
    }
    params.update({k: str(v) for k, v in dict(options.get("query") or {}).items()})
    return f"{options.get('chart_url') or CHART_URL}?{urlencode(params, quote_via=quote)}"


def fetch(client, source, state):
    """GET the export (or the mirror/file in `url`); conditional when we have validators."""
    from jobs.sources.http import fetch_url

    url = source.url or export_url(source.options)
    return fetch_url(client, url, options=source.http, etag=state.etag, last_modified=state.last_modified)
