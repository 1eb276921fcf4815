"""TOP500 list workbooks (.xls before 2008, .xlsx from 2020; format told by magic bytes).

`parse` reads one list and yields two observations for that list's month:
  * supercomputers_cn_installed_chinese_vendor_share: systems installed in China
    (`Country` == China; Hong Kong and Taiwan are listed separately by TOP500 and are
    not counted) made by a Chinese manufacturer, / all China-installed systems.
    A list with no China-installed system has no defined share: no observation.
  * supercomputers_top500_chinese_vendor_share: Chinese-made systems / all systems.
Manufacturers are classified by data/top500_manufacturer_origin.csv (chinese, foreign,
mixed; `mixed` = joint Chinese/foreign credit, counted in the denominator, never as
Chinese). An unmapped manufacturer is a warning and is left out of both shares.
"""
from __future__ import annotations

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

SOURCE = "top500"
CN_INSTALLED_KEY = "supercomputers_cn_installed_chinese_vendor_share"
ALL_SYSTEMS_KEY = "supercomputers_top500_chinese_vendor_share"
MAPPING_FILE = "top500_manufacturer_origin.csv"
LIST_URL = "https://www.top500.org/lists/top500/{year}/{month:02d}/"
REQUIRED = ("Rank", "Country", "Manufacturer")
COUNTRY_ALIASES = {"china": "China", "people's republic of china": "China", "prc": "China"}
_FILE_MONTH = re.compile(r"TOP500_(\d{4})(\d{2})")

OLE2_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"  # legacy .xls
ZIP_MAGIC = b"PK\x03\x04"  # .xlsx


def list_month(options: Mapping) -> dt.date:
    """The list's month from options['list_month'] ('YYYY-MM') or options['filename']."""
    if options.get("list_month"):
        year, month = str(options["list_month"]).split("-")[:2]
        return dt.date(int(year), int(month), 1)
    match = _FILE_MONTH.search(str(options.get("filename", "")))
    if not match:
        raise InvalidData("TOP500: pass options['list_month'] = 'YYYY-MM' or a TOP500_YYYYMM filename")
    return dt.date(int(match.group(1)), int(match.group(2)), 1)


MAX_ROWS = 5000  # a TOP500 list has 500 systems and a header; far more is not a list
MAX_UNPACKED_BYTES = 64 * 1024 * 1024  # all members of an .xlsx, unpacked (real lists: ~2 MB)


def _check_xlsx_parts(raw: bytes, where: str) -> None:
    """Refuse before parsing: an archive that unpacks past MAX_UNPACKED_BYTES (a zip bomb) and
    XML parts that declare a DOCTYPE or entities (no workbook needs one; entity expansion
    is how an XML bomb or an external-entity read starts)."""
    import zipfile

    try:
        archive = zipfile.ZipFile(io.BytesIO(raw))
        members = archive.infolist()
    except (zipfile.BadZipFile, ValueError) as exc:
        raise SourceChanged(f"{where}: .xlsx workbook unreadable: {exc}") from exc
    unpacked = sum(m.file_size for m in members)
    if unpacked > MAX_UNPACKED_BYTES:
        raise SourceChanged(f"{where}: .xlsx workbook unpacks to {unpacked} bytes, over the "
                            f"{MAX_UNPACKED_BYTES}-byte limit: refused")
    for member in members:
        if member.filename.endswith((".xml", ".rels")) and _declares_doctype(archive, member):
            raise SourceChanged(f"{where}: .xlsx part {member.filename} declares a DOCTYPE or entities: refused")


def _declares_doctype(archive, member) -> bool:
    import zipfile

    tail = b""
    try:
        with archive.open(member) as part:
            while chunk := part.read(1 << 16):
                if b"<!DOCTYPE" in (tail + chunk).upper() or b"<!ENTITY" in (tail + chunk).upper():
                    return True
                tail = chunk[-16:]
    except zipfile.BadZipFile:  # a bad checksum (some real lists have one in a theme part)
        pass
    return False


def _bounded(rows, declared: int | None, where: str) -> list[list]:
    if declared and declared > MAX_ROWS:
        raise SourceChanged(f"{where}: the sheet declares {declared} rows, over the {MAX_ROWS}-row limit: refused")
    out = []
    for row in rows:
        if len(out) == MAX_ROWS:
            raise SourceChanged(f"{where}: the sheet holds more than {MAX_ROWS} rows: refused")
        out.append(list(row))
    return out


def read_sheet(raw: bytes, where: str = "TOP500 workbook") -> list[list]:
    """All cell values of the first worksheet, whatever the workbook format; at most
    MAX_ROWS rows (declared or actual), so a hostile workbook cannot take the memory."""
    if raw.startswith(OLE2_MAGIC):
        import xlrd

        try:
            book = xlrd.open_workbook(file_contents=raw, logfile=io.StringIO(), on_demand=True)
            sheet = book.sheet_by_index(0)
        except xlrd.XLRDError as exc:
            raise SourceChanged(f"{where}: .xls workbook unreadable: {exc}") from exc
        return _bounded((sheet.row_values(i) for i in range(sheet.nrows)), sheet.nrows, where)
    if raw.startswith(ZIP_MAGIC):
        import openpyxl

        _check_xlsx_parts(raw, where)
        try:
            book = openpyxl.load_workbook(io.BytesIO(raw), read_only=True, data_only=True)
        except Exception as exc:  # openpyxl raises assorted zip/xml errors
            raise SourceChanged(f"{where}: .xlsx workbook unreadable: {exc}") from exc
        try:
            sheet = book.worksheets[0]
            return _bounded(sheet.iter_rows(values_only=True), sheet.max_row, where)
        finally:
            book.close()
    raise SourceChanged(f"{where}: the TOP500 payload is neither an .xls nor an .xlsx workbook "
                        f"(starts with {raw[:16]!r})")


def _rank(cell) -> int | None:
    if isinstance(cell, bool):
        return None
    if isinstance(cell, (int, float)) and float(cell).is_integer():
        return int(cell)
    if isinstance(cell, str) and cell.strip().isdigit():
        return int(cell.strip())
    return None


def systems(raw: bytes, where: str = "TOP500 workbook") -> pd.DataFrame:
    """One row per ranked system: rank, country, manufacturer, row (1-based sheet row)."""
    rows = read_sheet(raw, where)
    header_at = next((i for i, r in enumerate(rows[:20])
                      if "rank" in [str(c).strip().lower() for c in r if c is not None]), None)
    if header_at is None:
        raise SourceChanged(f"{where}: no header row containing 'Rank' in the first 20 rows")
    header = [str(c).strip().lower() if c is not None else "" for c in rows[header_at]]
    missing = [c for c in REQUIRED if c.lower() not in header]
    if missing:
        raise SourceChanged(f"{where}: header lacks column(s) {', '.join(missing)}")
    col = {c: header.index(c.lower()) for c in REQUIRED}
    out, problems = [], []
    for offset, row in enumerate(rows[header_at + 1:]):
        number = header_at + 2 + offset
        cells = list(row) + [None] * (len(header) - len(row))
        rank = _rank(cells[col["Rank"]])
        if rank is None:
            continue  # blank, notes or footer rows
        country = " ".join(str(cells[col["Country"]] or "").split())
        maker = " ".join(str(cells[col["Manufacturer"]] or "").split())
        if not country or not maker:
            problems.append((where, number, f"rank {rank} has no "
                             + ("Country" if not country else "Manufacturer")))
            continue
        out.append({"rank": rank, "country": COUNTRY_ALIASES.get(country.casefold(), country),
                    "manufacturer": maker, "row": number})
    if problems:
        raise InvalidData(f"{where}: {len(problems)} bad row(s)", problems)
    return pd.DataFrame(out, columns=["rank", "country", "manufacturer", "row"])


def _chinese(counted: pd.DataFrame) -> int:
    return int((counted["origin"] == "chinese").sum())


def _share(key: str, counted: pd.DataFrame, month: dt.date, url: str, noun: str) -> dict:
    """The observation: systems by Chinese vendors / all `counted`."""
    chinese = _chinese(counted)
    return {OBS_SERIES: key, OBS_DATE: month, OBS_VALUE: chinese / len(counted),
            OBS_PERIOD_TYPE: "list", OBS_SOURCE_URL: url,
            OBS_NOTE: f"{chinese} of {len(counted)} {noun} by Chinese vendors"}


def parse(raw: bytes, options: Mapping | None = None) -> Parsed:
    """Options: list_month ('YYYY-MM') or filename (TOP500_YYYYMM.xls[x]),
    manufacturer_origin ({manufacturer: origin}; default: the bundled table), data_dir."""
    options = dict(options or {})
    where = options.get("where") or options.get("filename") or "TOP500 workbook"
    month = list_month(options)
    origin = mapping_option(options, "manufacturer_origin", MAPPING_FILE, "manufacturer")
    table = systems(raw, where)

    warnings = []
    if len(table) != 500:
        warnings.append(f"{where}: {len(table)} ranked systems, expected 500")
    table["origin"] = [origin.get(norm_key(m)) for m in table["manufacturer"]]
    unmapped = sorted(set(table.loc[table["origin"].isna(), "manufacturer"]))
    warnings += [f"{where}: unmapped manufacturer {m!r} left out (add it to data/{MAPPING_FILE})"
                 for m in unmapped]
    known = table[table["origin"].notna()]
    china = known[known["country"] == "China"]
    url = options.get("source_url") or LIST_URL.format(year=month.year, month=month.month)

    records = [_share(key, counted, month, url, noun)
               for key, counted, noun in ((CN_INSTALLED_KEY, china, "China-installed systems"),
                                          (ALL_SYSTEMS_KEY, known, "systems"))
               if len(counted)]  # no system, no defined share
    counts = {
        "systems": len(table),
        "china_installed": int((table["country"] == "China").sum()),
        "china_installed_chinese_vendor": _chinese(china),
        "chinese_vendor_all": _chinese(known),
        "unmapped_manufacturers": unmapped,
    }
    return Parsed(observations=pd.DataFrame(records, columns=OBSERVATION_COLUMNS),
                  warnings=warnings, counts=counts)


# ---- fetch: the only I/O ----------------------------------------------------------

DOWNLOAD_URL = "https://www.top500.org/lists/top500/{year}/{month:02d}/download/TOP500_{year}{month:02d}.xlsx"
PULLED_SERIES = (CN_INSTALLED_KEY, ALL_SYSTEMS_KEY)  # their newest date = the newest stored list
MAX_CANDIDATES = 4


def lists_after(latest: dt.date | None, today: dt.date, first: dt.date = dt.date(1993, 6, 1)) -> list[dt.date]:
    """List months (June, November) after `latest` up to `today`, oldest first."""
    out, year = [], (latest or first).year
    while year <= today.year:
        for month in (6, 11):
            candidate = dt.date(year, month, 1)
            if candidate <= today and (latest is None and candidate >= first or latest and candidate > latest):
                out.append(candidate)
        year += 1
    return out


def fetch(client, source, state):
    """The oldest list newer than the newest stored one. A 404 (or a missing mirror file)
    for every candidate means "not published yet": nothing new, not a failure.

    `url` may be a template with {year} and {month:02d} (a mirror or a folder of files),
    or one fixed file/URL whose name carries TOP500_YYYYMM."""
    from jobs.errors import NotFound
    from jobs.sources.http import fetch_url

    template = source.url or DOWNLOAD_URL
    if "{" not in template:
        return fetch_url(client, template, options=source.http)
    candidates = lists_after(state.latest, dt.date.today())[:MAX_CANDIDATES]
    for month in candidates:
        url = template.format(year=month.year, month=month.month)
        try:
            return fetch_url(client, url, options=source.http)
        except NotFound:
            continue
    return None
