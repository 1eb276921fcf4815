"""What every source module returns from `parse`, and the observation frame's columns."""
from __future__ import annotations

import re
from dataclasses import dataclass, field

import pandas as pd

from jobs.errors import InvalidData, SourceChanged

# Columns of a parsed observation frame (what jobs.store.writes.upsert_observations takes).
OBS_SERIES = "series_key"
OBS_DATE = "date"  # datetime.date, first day of the period
OBS_VALUE = "value"  # fraction 0-1 (context series: their own unit, see series.unit)
OBS_PERIOD_TYPE = "period_type"  # month|quarter|half_year|year|ytd|list
OBS_SOURCE_URL = "source_url"
OBS_NOTE = "note"
OBSERVATION_COLUMNS = [OBS_SERIES, OBS_DATE, OBS_VALUE, OBS_PERIOD_TYPE, OBS_SOURCE_URL, OBS_NOTE]
# Optional evidence columns (transcribed sources); a frame without them stores exact values.
OBS_KIND = "kind"  # one of forecast.frames.OBSERVATION_KINDS
OBS_VALUE_HIGH = "value_high"  # a range's high end (OBS_VALUE is its low end)
OBS_QUOTE = "quote"  # the source's own words containing the number
OBS_RELIABILITY = "reliability"  # None | low | very_low, as the provenance flags the row
EVIDENCE_COLUMNS = [OBS_KIND, OBS_VALUE_HIGH, OBS_QUOTE, OBS_RELIABILITY]
RELIABILITIES = ("low", "very_low")


CONTROL_CHARACTERS = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")  # all but tab, LF, CR


def control_character_problem(text: str) -> tuple[int, str] | None:
    """(line number, problem) of the first control character (NUL ...) in `text`, if any:
    text data never holds one, and PostgreSQL cannot store a NUL at all."""
    found = CONTROL_CHARACTERS.search(text)
    if found is None:
        return None
    return text.count("\n", 0, found.start()) + 1, f"control character U+{ord(found.group()):04X} in the text"


def payload_text(raw: bytes, publisher: str, expected: str, where: str | None = None) -> str:
    """A pulled payload as text. A server that answers 200 with an error or consent page
    (HTML), an empty body or bytes that are not UTF-8 has changed: SourceChanged. A control
    character (NUL ...) is InvalidData naming the line."""
    where = where or f"{publisher} payload"
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise SourceChanged(f"{where} is not UTF-8 text: {exc}") from exc
    head = text.lstrip()[:200].lower()
    if not head or head.startswith("<") or "<html" in head:
        raise SourceChanged(f"{where}: {publisher} returned HTML/XML or an empty body instead of {expected}")
    problem = control_character_problem(text)
    if problem:
        raise InvalidData(f"{where}: not plain {expected} text", [(where, *problem)])
    return text


def empty_observations() -> pd.DataFrame:
    return pd.DataFrame({c: pd.Series(dtype=object) for c in OBSERVATION_COLUMNS})


@dataclass
class Parsed:
    """A parsed payload: series metadata rows (dicts keyed like the `series` table),
    observations (OBSERVATION_COLUMNS), warnings for a human (e.g. unmapped vendors),
    and policy rows for policy sources."""

    series: list[dict] = field(default_factory=list)
    observations: pd.DataFrame = field(default_factory=empty_observations)
    warnings: list[str] = field(default_factory=list)
    policies: pd.DataFrame | None = None
    counts: dict = field(default_factory=dict)  # e.g. {"unmatched_items": 12}
