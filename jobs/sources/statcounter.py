"""StatCounter Global Stats, China mobile vendor market share (CSV export).

`parse` turns an export into the monthly domestic share of mobile page views:
    domestic / (domestic + foreign + ambiguous)
with vendors classified by data/statcounter_vendor_origin.csv. `excluded` vendors
(Unknown, Other, White Label) leave the denominator; `ambiguous` ones (Motorola,
Alcatel) stay in it but never count as domestic, so the share is a lower bound there.
A vendor missing from the table is reported in `warnings` and left out entirely.

Shapes handled: a monthly export (`Date` column + one column per vendor, any order,
new vendors appear), a single-month export (two columns: vendor, share; the month
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

from jobs.errors import InvalidData, SourceChanged
from jobs.sources.base import (
    OBS_DATE, OBS_NOTE, OBS_PERIOD_TYPE, OBS_SERIES, OBS_SOURCE_URL, OBS_VALUE,
    OBSERVATION_COLUMNS, Parsed,
)
from jobs.sources.mappings import mapping_option, norm_key

SOURCE = "statcounter"
SERIES_KEY = "phones_usage_statcounter_domestic_share"
PUBLIC_URL = "https://gs.statcounter.com/vendor-market-share/mobile/china"
MAPPING_FILE = "statcounter_vendor_origin.csv"
COUNTED = ("domestic", "foreign", "ambiguous")
ROW_SUM_RANGE = (98.0, 102.0)  # rows are percentages that sum to ~100 (rounding)
_MONTH = re.compile(r"^\d{4}-\d{2}$")


def _decode(raw: bytes) -> str:
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise SourceChanged(f"StatCounter payload is not UTF-8 text: {exc}") from exc
    head = text.lstrip()[:200].lower()
    if not head or head.startswith("<") or "<html" in head:
        raise SourceChanged("StatCounter returned HTML or an empty body instead of CSV")
    return text


def _month(label: str, where: str, row: int) -> dt.date:
    label = label.strip()
    if not _MONTH.match(label):
        raise InvalidData(f"{where}: bad month", [(where, row, f"date {label!r} is not YYYY-MM")])
    year, month = int(label[:4]), int(label[5:])
    if not 1 <= month <= 12:
        raise InvalidData(f"{where}: bad month", [(where, row, f"date {label!r} has no such month")])
    return dt.date(year, month, 1)


def _wide_rows(rows: list[list[str]], options: Mapping, where: str) -> tuple[list[str], list[tuple[int, str, list[str]]]]:
    """Vendors and (row number, month label, cells) for either export shape."""
    header = [h.strip() for h in rows[0]]
    if header and header[0].lower() == "date":
        vendors = header[1:]
        body = [(i + 2, r[0], r[1:]) for i, r in enumerate(rows[1:]) if any(c.strip() for c in r)]
        for number, _, cells in body:
            if len(cells) != len(vendors):
                raise InvalidData(f"{where}: ragged row", [
                    (where, number, f"{len(cells) + 1} cells, header has {len(header)}")])
        return vendors, body
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


def parse(raw: bytes, options: Mapping | None = None) -> Parsed:
    """Options: series_key, source_url, month ('YYYY-MM', single-month exports only),
    vendor_origin ({vendor: origin}; default: the bundled table), data_dir, where."""
    options = dict(options or {})
    where = options.get("where", "StatCounter CSV")
    series_key = options.get("series_key", SERIES_KEY)
    source_url = options.get("source_url", PUBLIC_URL)
    origin = mapping_option(options, "vendor_origin", MAPPING_FILE, "vendor")

    rows = list(csv.reader(io.StringIO(_decode(raw))))
    if not rows:
        raise SourceChanged(f"{where}: empty CSV")
    vendors, body = _wide_rows(rows, options, where)

    unmapped = sorted({v for v in vendors if norm_key(v) not in origin})
    problems: list[tuple[str, int | None, str]] = []
    records, seen, missing_months = [], {}, 0
    for number, label, cells in body:
        try:
            month = _month(label, where, number)
        except InvalidData as exc:
            problems.extend(exc.problems)
            continue
        values = {}
        for vendor, cell in zip(vendors, cells):
            try:
                value = float(cell)
            except ValueError:
                problems.append((where, number, f"{vendor}: {cell!r} is not a number"))
                continue
            if not 0.0 <= value <= 100.0:
                problems.append((where, number, f"{vendor}: {value} is not a percentage 0-100"))
            values[vendor] = value
        if len(values) != len(vendors):
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
        by_origin = {o: 0.0 for o in (*COUNTED, "excluded")}
        for vendor, value in values.items():
            cls = origin.get(norm_key(vendor))
            if cls in by_origin:
                by_origin[cls] += value
        denominator = sum(by_origin[o] for o in COUNTED)
        if denominator <= 0:
            problems.append((where, number, "no classified vendor has a share this month"))
            continue
        records.append({
            OBS_SERIES: series_key, OBS_DATE: month,
            OBS_VALUE: by_origin["domestic"] / denominator, OBS_PERIOD_TYPE: "month",
            OBS_SOURCE_URL: source_url,
            OBS_NOTE: f"excluded from denominator: {by_origin['excluded']:.2f}% "
                      f"(Unknown/Other/White Label); ambiguous: {by_origin['ambiguous']:.2f}%",
        })
    if problems:
        raise InvalidData(f"{where}: {len(problems)} bad cell(s)", problems)

    warnings = [f"{where}: unmapped vendor {v!r} left out of the share (add it to "
                f"data/{MAPPING_FILE})" for v in unmapped]
    frame = pd.DataFrame(records, columns=OBSERVATION_COLUMNS)
    frame = frame.sort_values(OBS_DATE).reset_index(drop=True)
    return Parsed(observations=frame, warnings=warnings, counts={
        "months": len(records), "missing_months": missing_months,
        "vendors": len(vendors), "unmapped_vendors": unmapped,
    })


# ---- fetch: the only I/O (jobs engineer's section) ---------------------------------

CHART_URL = "https://gs.statcounter.com/chart.php"
FIRST_MONTH = dt.date(2010, 1, 1)  # StatCounter's China history starts in 2010


def export_url(options: Mapping, today: dt.date | None = None) -> str:
    """The chart.php CSV export for China, monthly, 2010-01 to the last complete month.

    Pattern from stored third-party code (see LIVE_SOURCES.md); `options` may override
    any query parameter under the key `query` (e.g. {statType_hidden = "os", ...}).
    """
    from urllib.parse import quote, urlencode

    today = today or dt.date.today()
    last = today.replace(day=1) - dt.timedelta(days=1)
    params = {
        "device": "Mobile", "device_hidden": "mobile", "statType_hidden": "vendor",
        "region_hidden": "CN", "granularity": "monthly", "statType": "Device Vendor",
        "region": "China", "fromInt": f"{FIRST_MONTH:%Y%m}", "toInt": f"{last:%Y%m}",
        "fromMonthYear": f"{FIRST_MONTH:%Y-%m}", "toMonthYear": f"{last:%Y-%m}", "csv": "1",
    }
    params.update({k: str(v) for k, v in dict(options.get("query") or {}).items()})
    return f"{CHART_URL}?{urlencode(params, quote_via=quote)}"


def fetch(client, source, state):
    """GET the export (or the mirror/file in `url`); conditional when we have validators."""
    from jobs.sources.http import fetch_url

    url = source.url or export_url(source.options)
    return fetch_url(client, url, options=source.http, etag=state.etag, last_modified=state.last_modified)
