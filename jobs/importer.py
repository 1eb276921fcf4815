"""`domshare import FILE.csv`: a user's own domestic-share series, all or nothing.

Format (long, one observation per row; row numbers below count the header as row 1):
    series,date,domestic_share            fraction 0-1
    series,date,domestic_share_pct        or percent 0-100 (exactly one of the two)
    optional: sector, technology (codes from the sectors/technologies tables,
              default `all`), source (text or URL, kept as the provenance link), note,
              sector_name, technology_name (declare a code the tables do not hold: it is
              added with that name; an undeclared unknown code is an error with a
              "did you mean" hint)
A `domestic_share_pct` value of 1 or less is accepted with a warning: it looks like a
fraction.
Columns without a name (empty cells that spreadsheets add at the end) are allowed while
every cell under them is empty.
Dates: YYYY, YYYY-MM, YYYY-Qn or YYYY-MM-DD, stored as the period's first day (each
observation keeps its period type; `2021` and `2021-Q1` are the same date, a duplicate).
Each observation then passes jobs.validate's rules (a date from 1950 to next month, a
share in range, one value per series and date, a sane series key). Every bad row is
collected and reported together
(InvalidData with file, row, problem); nothing is written unless the whole file is
good. The accepted file is kept as a raw snapshot (source `import`).
"""
from __future__ import annotations

import csv
import datetime as dt
import difflib
import io
import re
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
from sqlalchemy import Connection, select

from jobs.errors import InvalidData
from jobs.files import read_input
from jobs.sources.base import (
    OBS_DATE, OBS_NOTE, OBS_PERIOD_TYPE, OBS_SERIES, OBS_SOURCE_URL, OBS_VALUE, OBSERVATION_COLUMNS,
    control_character_problem,
)
from jobs.store import schema, writes
from jobs.validate import observation_problems, parse_number

SOURCE = "import"
REQUIRED = ("series", "date")
PERCENT_COLUMN = "domestic_share_pct"
VALUE_COLUMNS = {"domestic_share": 1.0, PERCENT_COLUMN: 100.0}  # column -> full scale
OPTIONAL = ("sector", "technology", "source", "note", "sector_name", "technology_name")
CODE_KINDS = ("sector", "technology")
FREQUENCY = {"year": "annual", "quarter": "quarterly", "month": "monthly", "day": "irregular", "mixed": "irregular"}
NOTHING = "nothing was imported"
_CODE = re.compile(r"^[a-z0-9][a-z0-9_]{0,39}$")
_DATE_FORMS = (
    (re.compile(r"^(\d{4})$"), "year"),
    (re.compile(r"^(\d{4})-Q([1-4])$", re.IGNORECASE), "quarter"),
    (re.compile(r"^(\d{4})-(\d{2})$"), "month"),
    (re.compile(r"^(\d{4})-(\d{2})-(\d{2})$"), "day"),
)


@dataclass
class ImportSummary:
    file: str
    snapshot_id: int
    series: list[str]
    observations: writes.UpsertCounts
    new_codes: dict[str, list[str]]  # sector / technology -> codes this file declared
    warnings: list[str]


def parse_period(label: str) -> tuple[dt.date, str]:
    """(first day of the period, period type); ValueError if the form is not allowed."""
    label = label.strip()
    for pattern, kind in _DATE_FORMS:
        match = pattern.match(label)
        if not match:
            continue
        year = int(match.group(1))
        try:
            if kind == "year":
                return dt.date(year, 1, 1), kind
            if kind == "quarter":
                return dt.date(year, 3 * int(match.group(2)) - 2, 1), kind
            if kind == "month":
                return dt.date(year, int(match.group(2)), 1), kind
            return dt.date(year, int(match.group(2)), int(match.group(3))), kind
        except ValueError as exc:
            raise ValueError(f"date {label!r} does not exist ({exc})") from exc
    raise ValueError(f"date {label!r} is not YYYY, YYYY-MM, YYYY-Qn or YYYY-MM-DD")


def decode(content: bytes, where: str) -> str:
    if not content.strip():
        raise InvalidData(f"{where}: {NOTHING}", [(where, None, "the file is empty")])
    if content.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise InvalidData(f"{where}: {NOTHING}", [(where, 1, "the file is UTF-16, not UTF-8 "
                                                        "(Excel's 'Unicode Text'); save it as 'CSV UTF-8'")])
    try:
        text = content.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = content[:exc.start].count(b"\n") + 1
        raise InvalidData(f"{where}: {NOTHING}", [(
            where, line, f"byte 0x{content[exc.start]:02x} is not UTF-8; save the file as UTF-8")]) from exc
    control = control_character_problem(text)  # a NUL: PostgreSQL cannot store it, exports would carry it
    if control:
        raise InvalidData(f"{where}: {NOTHING}", [(where, *control)])
    return text


def read_path(path: Path) -> bytes:
    """The file's bytes, or InvalidData naming it (a regular file, bounded: jobs.files)."""
    return read_input(path, NOTHING)


def csv_header(content: bytes, where: str, required: tuple[str, ...], value_columns: dict[str, float],
               optional: tuple[str, ...]):
    """(csv reader positioned after the header, the header's fields, the value column's name),
    or InvalidData naming every header problem. `value_columns`: exactly one of these two
    (a fraction column, scale 1, and a percent column, scale 100) must be given."""
    reader = csv.reader(io.StringIO(decode(content, where), newline=""))
    try:
        fields = [f.strip() for f in next(reader)]
    except (StopIteration, csv.Error) as exc:
        raise InvalidData(f"{where}: {NOTHING}", [(where, 1, f"no readable header ({exc})")]) from exc
    problems = []
    if len(fields) == 1 and (sep := next((s for s in ";\t|" if s in fields[0]), None)):
        raise InvalidData(f"{where}: bad header; {NOTHING}", [(where, 1, (
            f"the header is one column: columns are separated by {sep!r}; save the file as comma-separated CSV"))])
    allowed = set(required) | set(value_columns) | set(optional)
    lowered = {f.lower() for f in fields}  # a capitalised name gets a "did you mean", not a "missing"
    for column in required:
        if column not in lowered:
            problems.append((where, 1, f"missing column '{column}'"))
    given = [c for c in value_columns if c in fields]
    fraction, percent = value_columns
    if not any(c in lowered for c in value_columns):
        problems.append((where, 1, f"missing column '{fraction}' (fraction 0-1) or '{percent}' (0-100)"))
    elif len(given) > 1:
        problems.append((where, 1, f"give either '{fraction}' or '{percent}', not both"))
    for column in fields:
        if column in allowed or not column:  # unnamed (empty) columns: spreadsheets add them; must stay empty
            continue
        if column.lower() in allowed:
            problems.append((where, 1, f"unknown column '{column}': did you mean '{column.lower()}'? "
                                       "(column names are lower case)"))
        else:
            problems.append((where, 1, f"unknown column '{column}' (allowed: {', '.join(sorted(allowed))})"))
    named = [f for f in fields if f]
    if len(set(named)) != len(named):
        problems.append((where, 1, "a column name appears twice"))
    if problems:
        raise InvalidData(f"{where}: bad header; {NOTHING}", problems)
    return reader, fields, given[0]


def number_hint(text: str) -> str:
    """What probably went wrong with a cell that is not a number."""
    if text.endswith("%") and parse_number(text[:-1].strip()) is not None:
        return " (leave out the % sign)"
    if text.count(",") == 1 and parse_number(text.replace(",", ".")) is not None:
        return " (use a dot as the decimal mark)"
    return ""


def import_context(conn: Connection) -> dict:
    """What read_file checks a file against: known sector and technology codes with their
    names, and the series it may not overwrite (bundled or pulled ones)."""
    return {
        "sectors": dict(conn.execute(select(schema.sectors.c.code, schema.sectors.c.name)).all()),
        "technologies": dict(conn.execute(select(schema.technologies.c.code, schema.technologies.c.name)).all()),
        "foreign_series": set(conn.execute(select(schema.series.c.key)
                                           .where(schema.series.c.origin != SOURCE)).scalars()),
    }


def data_rows(reader, fields: list[str], where: str, problems: list):
    """(row number, {column: stripped cell}) for each non-blank row whose cells fit the
    header; a row that does not fit is a problem and is not yielded."""
    while True:
        try:
            cells = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            problems.append((where, reader.line_num, f"unreadable CSV: {exc}"))
            return
        number = reader.line_num
        if not any(c.strip() for c in cells):
            continue
        if len(cells) != len(fields):
            problems.append((where, number, f"{len(cells)} cells but the header has {len(fields)}"))
            continue
        filled = [i + 1 for i, (f, c) in enumerate(zip(fields, cells)) if not f and c.strip()]
        if filled:
            problems.append((where, number, f"a value in column {filled[0]}, which has no name in the header"))
            continue
        yield number, {f: c.strip() for f, c in zip(fields, cells) if f}


def _key_problem(key: str, foreign_series: set[str]) -> str | None:
    if key in foreign_series:
        return f"series {key!r} is bundled or pulled data; import under another name"
    return None


def code_problem(kind: str, code: str, known: dict[str, str]) -> str | None:
    """Why `code` is no sector / technology code of `known` ({code: name}), with a hint
    for a near miss (`smartphones` -> `phones`, `Banking` -> `banking`)."""
    if code in known:
        return None
    names = {name.lower(): c for c, name in known.items()}
    guess = (code.lower() if code.lower() in known else names.get(code.lower())
             or next(iter(difflib.get_close_matches(code.lower(), known, n=1, cutoff=0.6)), None))
    hint = f"did you mean {guess!r}? " if guess else ""
    return f"{kind} {code!r} is unknown ({hint}known: {', '.join(sorted(known))})"


def _declared_code(kind: str, code: str, name: str, known: dict[str, str],
                   declared: dict[str, tuple[str, int]], number: int) -> str | None:
    """A row's sector / technology: a known code, or a new one its `<kind>_name` declares
    (the same name wherever the file uses it). The problem, if any."""
    if code in known:
        return None
    if not name:
        problem = code_problem(kind, code, known)
        return f"{problem}; to add it, give its name in a '{kind}_name' column"
    if not _CODE.match(code):
        return f"new {kind} code {code!r} must be 1-40 lower-case letters, digits or _"
    first = declared.setdefault(code, (name, number))
    if first[0] != name:
        return f"{kind} {code!r} is named {first[0]!r} at row {first[1]} but {name!r} here"
    return None


def _code_rows(declared: dict[str, dict[str, tuple[str, int]]], where: str) -> dict[str, list[dict]]:
    """Catalogue rows of the codes a file declared: {"sector": [...], "technology": [...]}."""
    name = where.rsplit("/", 1)[-1]
    return {kind: [{"code": code, "name": label, "description": f"Declared by a user import of {name}"}
                   for code, (label, _) in sorted(codes.items())] for kind, codes in declared.items()}


def _fraction_warning(rows: list[int], where: str) -> list[str]:
    if not rows:
        return []
    shown = ", ".join(map(str, rows[:10])) + (f" and {len(rows) - 10} more" if len(rows) > 10 else "")
    return [f"{where}: rows {shown}: domestic_share_pct values of 1 or less look like fractions; "
            "they were stored as percent (0.4 means 0.4 %). If they are fractions, rename the "
            "column to 'domestic_share' and import again."]


def _number_problem(raw_value: str, value: float | None, column: str) -> str | None:
    """A cell that is no number (its range is jobs.validate's rule)."""
    if value is not None:
        return None
    return f"{column} is empty" if not raw_value else f"{column} {raw_value!r} is not a number{number_hint(raw_value)}"


def _series_rows(series_meta: dict[str, dict], where: str) -> list[dict]:
    """Catalogue rows of the imported series (origin `import`)."""
    name = where.rsplit("/", 1)[-1]
    return [{
        "key": key, "sector": m["sector"], "technology": m["technology"], "geography": "CN",
        "unit": "share", "frequency": FREQUENCY[m["period"]], "kind": "domestic_share",
        "title": key, "description": f"Imported by a user from {name}",
        "source": "; ".join(m["sources"]) or f"user import ({name})", "source_url": None,
        "caveat": "User-supplied data: provenance is the imported file", "origin": SOURCE,
    } for key, m in series_meta.items()]


@dataclass
class ImportRead:
    """A validated file: series and observation rows, the sector / technology codes it
    declares ({"sector": [rows], "technology": [rows]}) and warnings for the user."""

    series: list[dict]
    observations: pd.DataFrame
    codes: dict[str, list[dict]]
    warnings: list[str]


def read_file(content: bytes, where: str, *, sectors: dict[str, str], technologies: dict[str, str],
              foreign_series: set[str] = frozenset()) -> ImportRead:
    """Validate a whole file or raise InvalidData naming every bad row.

    `sectors` / `technologies`: the known codes and their names. `foreign_series`: existing
    keys not owned by imports (bundled or pulled data), which an import may not overwrite.
    """
    reader, fields, value_column = csv_header(content, where, REQUIRED, VALUE_COLUMNS, OPTIONAL)
    scale = VALUE_COLUMNS[value_column]
    known = {"sector": sectors, "technology": technologies}

    problems: list[tuple[str, int | None, str]] = []
    records: list[dict] = []
    record_rows: list[int] = []
    series_meta: dict[str, dict] = {}
    declared: dict[str, dict[str, tuple[str, int]]] = {kind: {} for kind in CODE_KINDS}
    fraction_rows: list[int] = []
    for number, row in data_rows(reader, fields, where, problems):
        bad_before = len(problems)
        key, sector, technology = row["series"], row.get("sector") or "all", row.get("technology") or "all"
        if problem := _key_problem(key, foreign_series):
            problems.append((where, number, problem))
        try:
            date, period = parse_period(row["date"])
        except ValueError as exc:
            problems.append((where, number, str(exc)))
            date = period = None
        value = parse_number(row[value_column])
        if problem := _number_problem(row[value_column], value, value_column):
            problems.append((where, number, problem))
        for kind, code in (("sector", sector), ("technology", technology)):
            if problem := _declared_code(kind, code, row.get(f"{kind}_name", ""), known[kind],
                                         declared[kind], number):
                problems.append((where, number, problem))
        if len(problems) > bad_before:
            continue
        meta = series_meta.setdefault(key, {"sector": sector, "technology": technology,
                                            "period": period, "row": number, "sources": []})
        if (meta["sector"], meta["technology"]) != (sector, technology):
            problems.append((where, number, f"series {key!r} is {meta['sector']}/{meta['technology']} "
                                            f"at row {meta['row']} but {sector}/{technology} here"))
            continue
        if meta["period"] != period:
            meta["period"] = "mixed"  # allowed: each observation keeps its own period_type
        if scale == 100.0 and 0.0 < value <= 1.0:
            fraction_rows.append(number)
        if row.get("source") and row["source"] not in meta["sources"]:
            meta["sources"].append(row["source"])
        records.append({OBS_SERIES: key, OBS_DATE: date, OBS_VALUE: value / scale,
                        OBS_PERIOD_TYPE: period, OBS_SOURCE_URL: row.get("source") or None,
                        OBS_NOTE: row.get("note") or None})
        record_rows.append(number)
    frame = pd.DataFrame(records, columns=OBSERVATION_COLUMNS)
    problems += observation_problems(frame, where, {key: "share" for key in series_meta}, rows=record_rows,
                                     value_label=value_column, scale=scale, percent_column=PERCENT_COLUMN)
    if problems:
        raise InvalidData(f"{where}: {len(problems)} bad row(s); {NOTHING}", sorted(problems, key=lambda p: p[1] or 0))
    if not records:
        raise InvalidData(f"{where}: {NOTHING}", [(where, 2, "the file has a header but no data rows")])
    return ImportRead(_series_rows(series_meta, where), frame, _code_rows(declared, where),
                      _fraction_warning(fraction_rows, where))


def read_import(content: bytes, where: str, *, sectors, technologies,
                foreign_series: set[str] = frozenset()) -> tuple[list[dict], pd.DataFrame]:
    """(series rows, observation frame) of a file, for a `csv_url` feed: a feed may not add
    sectors or technologies (only `domshare import` can declare them)."""
    read = read_file(content, where, sectors=_names(sectors), technologies=_names(technologies),
                     foreign_series=foreign_series)
    new = [f"{kind} {row['code']!r}" for kind, rows in read.codes.items() for row in rows]
    if new:
        raise InvalidData(f"{where}: {NOTHING}", [(where, None, f"a feed cannot declare new codes "
                                                                f"({', '.join(new)}); add them with `domshare import`")])
    return read.series, read.observations


def _names(codes) -> dict[str, str]:
    return dict(codes) if isinstance(codes, dict) else {code: code for code in codes}


def import_csv(conn: Connection, path: Path) -> ImportSummary:
    """Validate `path` and write it on `conn` (the caller's transaction) or raise InvalidData."""
    path = Path(path)
    where = str(path)
    content = read_path(path)
    read = read_file(content, where, **import_context(conn))
    uri = path.resolve().as_uri()
    snapshot_id = writes.save_snapshot(conn, source=SOURCE, url=uri, content=content,
                                       media_type="text/csv", note=f"user import of {path.name}")
    frame = read.observations
    frame[OBS_SOURCE_URL] = frame[OBS_SOURCE_URL].fillna(uri)
    writes.upsert_sectors(conn, read.codes["sector"])
    writes.upsert_technologies(conn, read.codes["technology"])
    writes.upsert_series(conn, read.series)
    counts = writes.upsert_observations(conn, frame, snapshot_id)
    return ImportSummary(file=where, snapshot_id=snapshot_id, series=[r["key"] for r in read.series],
                         observations=counts, warnings=read.warnings,
                         new_codes={kind: [r["code"] for r in rows] for kind, rows in read.codes.items()})
