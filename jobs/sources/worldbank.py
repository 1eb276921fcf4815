"""World Bank WDI indicators for China: the bulk wide CSV and the JSON API shape.

These are CONTEXT series (trade structure), never domestic shares. Values arrive in
percent and are stored as fractions 0-1 (series unit `fraction`), like every share.

Bulk CSV: preamble lines, then "Country Name","Country Code","Indicator Name",
"Indicator Code","1960",...  one row per country.
JSON API: [ {paging}, [ {indicator:{id}, countryiso3code, date:"YYYY", value|null}, ... ] ]
"""
from __future__ import annotations

import csv
import datetime as dt
import io
import json
from typing import Mapping

import pandas as pd

from jobs.errors import InvalidData, SourceChanged
from jobs.sources.base import (
    OBS_DATE, OBS_NOTE, OBS_PERIOD_TYPE, OBS_SERIES, OBS_SOURCE_URL, OBS_VALUE,
    OBSERVATION_COLUMNS, Parsed, payload_text,
)
from jobs.validate import parse_number

SOURCE = "worldbank"
COUNTRY = "CHN"
SERIES_BY_INDICATOR = {"TX.VAL.TECH.MF.ZS": "context_hightech_exports_share_worldbank"}
INDICATOR_URL = "https://data.worldbank.org/indicator/{code}?locations=CN"


def _records_from_json(text: str, where: str) -> list[tuple[int | None, str, str, str, object]]:
    try:
        payload = json.loads(text)
    except json.JSONDecodeError as exc:
        raise SourceChanged(f"{where}: not valid JSON: {exc}") from exc
    if (isinstance(payload, list) and payload and isinstance(payload[0], dict)
            and "message" in payload[0]):
        raise SourceChanged(f"{where}: World Bank API error {payload[0]['message']}")
    if not (isinstance(payload, list) and len(payload) == 2 and isinstance(payload[0], dict)
            and isinstance(payload[1], (list, type(None)))):
        raise SourceChanged(f"{where}: expected [paging, observations], got {str(payload)[:120]}")
    out = []
    for i, item in enumerate(payload[1] or []):
        try:
            out.append((i + 1, item["indicator"]["id"], item["countryiso3code"], item["date"], item["value"]))
        except (KeyError, TypeError) as exc:
            raise SourceChanged(f"{where}: observation {i + 1} lacks {exc}") from exc
    return out


def _records_from_csv(text: str, where: str) -> list[tuple[int | None, str, str, str, object]]:
    rows = list(csv.reader(io.StringIO(text)))
    header_at = next((i for i, r in enumerate(rows) if r[:2] == ["Country Name", "Country Code"]), None)
    if header_at is None:
        raise SourceChanged(f"{where}: no 'Country Name','Country Code' header line")
    header = rows[header_at]
    if header[2:4] != ["Indicator Name", "Indicator Code"]:
        raise SourceChanged(f"{where}: unexpected header {header[:4]}")
    years = [(j, h) for j, h in enumerate(header) if h.strip().isdigit()]
    out = []
    for offset, row in enumerate(rows[header_at + 1:]):
        if not any(c.strip() for c in row):
            continue
        number = header_at + 2 + offset
        for j, year in years:
            cell = row[j].strip() if j < len(row) else ""
            out.append((number, row[3], row[1], year, cell or None))
    return out


def _check_identity(found: list, country: str, indicators: set[str], where: str) -> None:
    """SourceChanged unless the payload holds the configured country's values of a configured
    indicator (a mirror or the API may answer with another one): nothing stored, no series row."""
    if any(iso3 == country and code in indicators for _, code, iso3, _, _ in found):
        return
    held = sorted({f"{code} for {iso3}" for _, code, iso3, _, _ in found})
    shown = ", ".join(held[:5]) + (f" and {len(held) - 5} more" if len(held) > 5 else "")
    raise SourceChanged(f"{where}: the payload holds {shown or 'no values at all'}, not "
                        f"{' / '.join(sorted(indicators))} for {country} as configured: refused, nothing stored")


def parse(raw: bytes, options: Mapping | None = None) -> Parsed:
    """Options: country (ISO3, default CHN), series_by_indicator ({code: series key}), where."""
    options = dict(options or {})
    where = options.get("where", "World Bank payload")
    country = options.get("country", COUNTRY)
    series_by_indicator = dict(options.get("series_by_indicator") or SERIES_BY_INDICATOR)
    text = payload_text(raw, "World Bank", "CSV/JSON", where)
    is_json = text.lstrip()[:1] in "[{"
    found = (_records_from_json if is_json else _records_from_csv)(text, where)
    _check_identity(found, country, set(series_by_indicator), where)

    records, problems, unknown, nulls = [], [], set(), 0
    seen = set()
    for number, indicator, iso3, year, value in found:
        if iso3 != country:
            continue
        if indicator not in series_by_indicator:
            unknown.add(indicator)
            continue
        if value is None or value == "":
            nulls += 1
            continue
        pct = parse_number(value)
        if pct is None:
            problems.append((where, number, f"{indicator} {year}: {value!r} is not a number"))
            continue
        if not 0.0 <= pct <= 100.0:
            problems.append((where, number, f"{indicator} {year}: {pct} is not a percentage 0-100"))
            continue
        try:
            date = dt.date(int(str(year)[:4]), 1, 1)
        except ValueError:
            problems.append((where, number, f"{indicator}: year {year!r} is not YYYY"))
            continue
        key = series_by_indicator[indicator]
        if (key, date) in seen:
            problems.append((where, number, f"{indicator} {year} appears twice"))
            continue
        seen.add((key, date))
        records.append({
            OBS_SERIES: key, OBS_DATE: date, OBS_VALUE: pct / 100.0, OBS_PERIOD_TYPE: "year",
            OBS_SOURCE_URL: options.get("source_url") or INDICATOR_URL.format(code=indicator),
            OBS_NOTE: f"World Bank WDI {indicator}: {pct:.4f}% (stored as a fraction)",
        })
    if problems:
        raise InvalidData(f"{where}: {len(problems)} bad value(s)", problems)
    warnings = [f"{where}: indicator {code} has no series mapping; skipped" for code in sorted(unknown)]
    frame = pd.DataFrame(records, columns=OBSERVATION_COLUMNS).sort_values([OBS_SERIES, OBS_DATE])
    return Parsed(observations=frame.reset_index(drop=True), warnings=warnings,
                  counts={"values": len(records), "empty_years": nulls})


# ---- fetch: the only I/O ----------------------------------------------------------

API_URL = "https://api.worldbank.org/v2/country/{country}/indicator/{code}?format=json&per_page={per_page}"
MAX_PAGES = 50
PULLED_SERIES_KIND = "context"  # pulled World Bank series are context, never domestic shares


def api_url(code: str, country: str = COUNTRY, per_page: int = 1000) -> str:
    return API_URL.format(country=country, code=code, per_page=per_page)


def fetch(client, source, state):
    """The JSON API, every page (`page`/`pages`). Pages are joined into one document of
    the API's own shape, [paging, observations], so `parse` sees a single payload.
    `url` (a mirror, a bulk CSV or a local file) is fetched as is, unpaged."""
    from jobs.sources.http import Fetched, fetch_url

    if source.url:
        return fetch_url(client, source.url, options=source.http,
                         etag=state.etag, last_modified=state.last_modified)
    codes = list(source.options.get("indicators") or source.options.get("series_by_indicator") or [])
    if not codes:
        from jobs.errors import ConfigError

        raise ConfigError(f"source {source.name!r}: options.indicators lists no indicator code")
    country = source.options.get("country", COUNTRY)
    per_page = int(source.options.get("per_page", 1000))
    paging, items, first = None, [], None
    for code in codes:
        page, pages = 1, 1
        while page <= pages:
            url = api_url(code, country, per_page) + f"&page={page}"
            got = fetch_url(client, url, options=source.http)
            first = first or got
            try:
                document = json.loads(got.content)
                meta, rows = document[0], document[1] or []
                pages = min(int(meta.get("pages") or 1), MAX_PAGES)
            except (ValueError, TypeError, KeyError, IndexError, AttributeError):
                return got  # not the API's shape: let parse say what is wrong with it
            paging = paging or meta
            items.extend(rows)
            page += 1
    paging = dict(paging, page=1, pages=1, per_page=len(items), total=len(items))
    body = json.dumps([paging, items], ensure_ascii=False).encode("utf-8")
    return Fetched(url=first.url, content=body, status=first.status, media_type="application/json")
