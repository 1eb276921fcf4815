"""The one rule set every observation passes before it is stored.

`domshare import`, every pull kind and the bundled load (`domshare init`) call
`check_observations` on the frame they are about to write; jobs.store.writes only writes.
Every violation is named: (input, row or item, problem), all of them at once.

    series   a sane key (1-120 letters, digits, _ . -; first a letter or digit) of a known series
    date     a date, not before 1950 and not after the period after the current one (the
             first day of next month: a later period cannot have been observed yet)
    value    a finite number; in forecast.frames.SHARE_RANGE, [0, 1], for a share (unit
             `share` or `fraction`); finite for any other declared unit
    once     one value per series and date (periods are stored by their first day)
    text     no control characters (NUL ...) in any text cell: PostgreSQL cannot store a
             NUL and exports would carry them
    evidence kind one of forecast.frames.OBSERVATION_KINDS; a range has value_high >= value,
             other kinds none; reliability empty or one of RELIABILITIES

Pure: no database or I/O (the caller supplies the series' units), so parsers may use
`parse_number` too.
"""
from __future__ import annotations

import datetime as dt
import math
import numbers
import re
from typing import Iterable, Mapping

import pandas as pd

from forecast.frames import OBSERVATION_KINDS, SHARE_RANGE
from jobs.errors import InvalidData
from jobs.sources.base import (
    CONTROL_CHARACTERS, OBS_DATE, OBS_KIND, OBS_NOTE, OBS_PERIOD_TYPE, OBS_QUOTE, OBS_RELIABILITY,
    OBS_SERIES, OBS_SOURCE_URL, OBS_VALUE, OBS_VALUE_HIGH, RELIABILITIES,
)

SERIES_KEY = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.\-]{0,119}$")
KEY_RULE = "must be 1-120 letters, digits, _ . - (starting with a letter or digit)"
EARLIEST = dt.date(1950, 1, 1)
SHARE_UNITS = ("share", "fraction")  # series.unit values whose observations lie in [0, 1]
TEXT_COLUMNS = (OBS_SERIES, OBS_PERIOD_TYPE, OBS_SOURCE_URL, OBS_NOTE, OBS_KIND, OBS_QUOTE, OBS_RELIABILITY)
# Plain decimal notation only: float() would also read "1_0" as 10, "inf" and " nan ".
_NUMBER = re.compile(r"^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$")

Problem = tuple[str, "int | None", str]


def parse_number(cell) -> float | None:
    """A cell's finite number (text in plain decimal notation, or an int/float), else None."""
    if isinstance(cell, bool):
        return None
    if isinstance(cell, numbers.Real):  # numpy's numbers too
        return float(cell) if math.isfinite(cell) else None
    if not isinstance(cell, str) or not _NUMBER.match(cell.strip()):
        return None
    value = float(cell)
    return value if math.isfinite(value) else None


def latest_date(today: dt.date | None = None) -> dt.date:
    """The latest date an observation may carry: the first day of the month after `today`'s
    (the current period plus one; UTC)."""
    today = today or dt.datetime.now(dt.timezone.utc).date()
    return dt.date(today.year + today.month // 12, today.month % 12 + 1, 1)


def as_date(value) -> dt.date | None:
    """A date cell as a datetime.date (None when missing or unreadable)."""
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    if _missing(value):
        return None
    try:
        return pd.Timestamp(value).date()
    except (TypeError, ValueError, OverflowError):
        return None


def _missing(value) -> bool:
    """None, NaN, NaT or pd.NA (what pandas leaves in an empty cell)."""
    try:
        return value is None or bool(pd.isna(value))
    except (TypeError, ValueError):  # a list or array is not missing
        return False


def _date_problem(date: dt.date | None, latest: dt.date) -> str | None:
    if date is None:
        return "no date (or one that cannot be read)"
    if date < EARLIEST:
        return f"date {date} is before {EARLIEST.year}"
    if date > latest:
        return f"date {date} is after {latest} (next month): a later period cannot have been observed yet"
    return None


def _value_problem(value, unit: str, label: str, scale: float, percent_column: str | None) -> str | None:
    number = parse_number(value)
    if number is None:
        return f"{label} {value!r} is not a finite number"
    low, high = SHARE_RANGE
    if unit in SHARE_UNITS and not low <= number <= high:
        hint = (f" (percentages go in a '{percent_column}' column)"
                if percent_column and scale == 1.0 and high < number <= 100 else "")
        return f"{label} {number * scale:g} is outside {low * scale:g}-{high * scale:g}{hint}"
    return None


def _evidence_problem(record: Mapping, value: float) -> str | None:
    kind = record.get(OBS_KIND)
    kind = "exact" if _missing(kind) else kind
    high = record.get(OBS_VALUE_HIGH)
    high = None if _missing(high) else parse_number(high)
    reliability = record.get(OBS_RELIABILITY)
    if kind not in OBSERVATION_KINDS:
        return f"kind {kind!r} is not one of {', '.join(OBSERVATION_KINDS)}"
    if (kind == "range") != (high is not None) or (high is not None and high < value):
        return f"a range needs value_high >= value, other kinds none (kind {kind}, value_high {high})"
    if not _missing(reliability) and reliability not in RELIABILITIES:
        return f"reliability {reliability!r} is not one of {', '.join(RELIABILITIES)}"
    return None


def _text_problem(record: Mapping) -> str | None:
    for column in TEXT_COLUMNS:
        cell = record.get(column)
        if isinstance(cell, str) and (found := CONTROL_CHARACTERS.search(cell)):
            return f"{column}: control character U+{ord(found.group()):04X} in the text"
    return None


def observation_problems(frame: pd.DataFrame, where: str, units: Mapping[str, str], *,
                         rows: Iterable[int] | None = None, today: dt.date | None = None,
                         value_label: str = "value", scale: float = 1.0,
                         percent_column: str | None = None) -> list[Problem]:
    """Every (where, row, problem) of `frame` (columns of jobs.sources.base).

    `units`: {series key: unit} of the series the frame may write. `rows`: each record's row
    number in the input; without them (a parsed payload) a problem names the record as
    "item N" of the parsed frame. `value_label` / `scale` name the value as the input gave
    it (an import's `domestic_share_pct` is 100 x the share).
    """
    if frame is None or frame.empty:
        return []
    missing = [c for c in (OBS_SERIES, OBS_DATE, OBS_VALUE) if c not in frame.columns]
    if missing:
        return [(where, None, f"no column(s) {', '.join(missing)}")]
    latest, problems, first_row = latest_date(today), [], {}
    rows = list(rows) if rows is not None else None
    for position, record in enumerate(frame.to_dict("records")):
        number = rows[position] if rows is not None else None  # the row InvalidData prints
        place = f"row {number}" if rows is not None else f"item {position + 1}"
        item = "" if rows is not None else f"{place}: "
        key, date = record[OBS_SERIES], as_date(record[OBS_DATE])
        if not isinstance(key, str) or not SERIES_KEY.match(key):
            problems.append((where, number, f"{item}series {key!r} {KEY_RULE}"))
            continue
        if key not in units:
            problems.append((where, number, f"{item}unknown series {key!r} (not in the catalogue)"))
            continue
        found = [p for p in (_date_problem(date, latest),
                             _value_problem(record[OBS_VALUE], units[key], value_label, scale, percent_column),
                             _text_problem(record)) if p]
        if not found:
            found = [p for p in [_evidence_problem(record, parse_number(record[OBS_VALUE]))] if p]
        if not found and (key, date) in first_row:
            found = [f"duplicate date {date} (first at {first_row[key, date]}; "
                     "periods are stored by their first day)"]
        first_row.setdefault((key, date), place)
        problems += [(where, number, f"{item}{key}: {p}") for p in found]
    return problems


def check_observations(frame: pd.DataFrame, where: str, units: Mapping[str, str], **how) -> None:
    """InvalidData naming every bad row of `frame` (see observation_problems), else nothing."""
    problems = observation_problems(frame, where, units, **how)
    if problems:
        raise InvalidData(f"{where}: {len(problems)} invalid observation(s); nothing was stored", problems)
