"""Transcribed evidence tables (PROVENANCE_2.md and PROVENANCE_3.md files in data/transcribed/).

Two layouts: topic files (`period, metric, value_pct, basis, firm, ...`) and sector files
(`period, sector, technology, metric, value_pct, status, basis, firm/publisher, ...`). What a
row becomes is decided by data/evidence_rules.csv, matched on the file name and the start of
the row's `metric` (and `sector`): the series it joins, or why it is not stored (counted per reason,
never silently dropped). Sector rows whose `status` is `forecast` or `target` are never
observations, whatever a rule says.

Values keep their meaning (jobs.sources.base.OBSERVATION_KINDS): `~70` approximate, `>30`
lower bound, `<5` upper bound, `16-19` a range (value = low end, value_high = high end), a
bare number exact unless the rule makes it a bound (a top-3 share is a lower bound of the
domestic share). Rule `value_rule`:
  as_written        the domestic share as written
  complement        100 - x: the row is the whole foreign share (`>` becomes `<`)
  complement_upper  100 - x is an upper bound: the row is one foreign part
  sum               rows of one series and period are parts, summed into a lower bound
Rule `date` overrides an undatable period (`2024` for "c.2024"); `span` spreads a range
stated for a span of quarters (`2023Q4..2025Q2`) over those quarters of the span that have
no value of their own. Periods: YYYY, YYYYQn, YYYYH1/H2, YYYY-MM, and a procurement round
`YYYY-YYYY`, dated at its first year. Reliability comes from the row's note
(`LOW reliability`, `VERY LOW reliability`).
"""
from __future__ import annotations

import csv
import datetime as dt
import io
import re
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Mapping

import pandas as pd

from jobs.errors import InvalidData, SourceChanged
from jobs.sources.base import (
    EVIDENCE_COLUMNS, OBS_DATE, OBS_KIND, OBS_NOTE, OBS_PERIOD_TYPE, OBS_QUOTE, OBS_RELIABILITY,
    OBS_SERIES, OBS_SOURCE_URL, OBS_VALUE, OBS_VALUE_HIGH, OBSERVATION_COLUMNS, Parsed,
)

SOURCE = "transcribed"
RULES_FILE = "evidence_rules.csv"
TOPIC = {"period", "metric", "value_pct", "basis", "firm", "source_url", "quote", "note"}
SECTOR = {"period", "sector", "technology", "metric", "value_pct", "status", "basis", "firm/publisher",
          "source_url", "quote", "note"}
VALUE_RULES = ("as_written", "complement", "complement_upper", "sum")
_URL = re.compile(r"https?://[^\s;,)]+")
_NUMBER = r"\d+(?:\.\d+)?"


@dataclass(frozen=True)
class Rule:
    metric: str
    sector: str | None  # sector files: the start of the row's `sector`, when the metric is shared
    series: str | None
    kind: str | None
    value_rule: str
    date: str | None
    skip: str | None


def load_rules(data_dir: Path, filename: str) -> list[Rule]:
    text = (Path(data_dir) / RULES_FILE).read_text(encoding="utf-8")
    rules = []
    for number, row in enumerate(csv.DictReader(io.StringIO(text)), start=2):
        if row["file"].strip() != filename:
            continue
        series, skip = row["series"].strip() or None, row["skip"].strip() or None
        value_rule = row["value_rule"].strip() or "as_written"
        kind, date = row["kind"].strip() or None, row["date"].strip() or None
        if ((series is None) == (skip is None) or value_rule not in VALUE_RULES
                or kind not in (None, "lower_bound", "upper_bound")
                or (date not in (None, "span") and parse_period(date) is None)):
            raise InvalidData(f"data/{RULES_FILE}: row {number} needs exactly one of series or skip, value_rule "
                              f"one of {', '.join(VALUE_RULES)}, kind empty or a bound, date empty, span or a period")
        rules.append(Rule(row["metric"].strip(), row["sector"].strip() or None, series, kind, value_rule, date, skip))
    return rules


def parse_value(cell: str) -> tuple[str, float, float | None] | None:
    """(kind, value, value_high) in percent for `~70`, `>30`, `<5`, `16-19`, `61`; None if blank."""
    cell = cell.strip()
    if not cell:
        return None
    marks = {"~": "approximate", ">": "lower_bound", "<": "upper_bound"}
    if match := re.fullmatch(rf"([~<>]?)\s*({_NUMBER})", cell):
        return marks.get(match.group(1), "exact"), float(match.group(2)), None
    if match := re.fullmatch(rf"({_NUMBER})\s*-\s*({_NUMBER})", cell):
        return "range", float(match.group(1)), float(match.group(2))
    raise ValueError(f"value_pct {cell!r} is not a number, ~x, >x, <x or a range a-b")


def parse_period(label: str) -> tuple[dt.date, str, str | None] | None:
    """(first day, period type, note) or None when the label names no single period."""
    text = re.sub(r"\s*\(.*\)\s*$", "", label.strip())
    note = None
    if text.startswith("c."):
        text, note = text[2:].strip(), f"date approximate ({label.strip()})"
    if re.fullmatch(r"\d{4}", text):
        return dt.date(int(text), 1, 1), "year", note
    if match := re.fullmatch(r"(\d{4})Q([1-4])", text):
        return dt.date(int(match.group(1)), 3 * int(match.group(2)) - 2, 1), "quarter", note
    if match := re.fullmatch(r"(\d{4})H([12])", text):
        return dt.date(int(match.group(1)), 1 if match.group(2) == "1" else 7, 1), "half_year", note
    if match := re.fullmatch(r"(\d{4})-(\d{2})", text):
        return dt.date(int(match.group(1)), int(match.group(2)), 1), "month", note
    if match := re.fullmatch(r"(\d{4})-(\d{4})", text):
        return dt.date(int(match.group(1)), 1, 1), "year", f"round {label.strip()}, dated at its first year"
    return None


def _quarters(span: str) -> list[dt.date]:
    start, end = (parse_period(part) for part in span.split(".."))
    if not (start and end and start[1] == end[1] == "quarter"):
        raise ValueError(f"span {span!r} is not two quarters A..B")
    dates, date = [], start[0]
    while date <= end[0]:
        dates.append(date)
        date = dt.date(date.year + date.month // 10, (date.month + 2) % 12 + 1, 1)
    return dates


def reliability(note: str) -> str | None:
    if re.search(r"very low reliability", note, re.I):
        return "very_low"
    return "low" if re.search(r"\blow reliability\b|^LOW\b", note, re.I) else None


def read_table(raw: bytes, where: str) -> tuple[set[str], list[tuple[int, dict]]]:
    """A transcribed CSV's columns and its rows with their line numbers."""
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise InvalidData(f"{where}: not UTF-8 text", [(where, None, str(exc))]) from exc
    reader = csv.DictReader(io.StringIO(text))
    return set(reader.fieldnames or []), [(i + 2, row) for i, row in enumerate(reader)]


def _rows(raw: bytes, where: str) -> tuple[bool, list[tuple[int, dict]]]:
    columns, rows = read_table(raw, where)
    if not (TOPIC <= columns or SECTOR <= columns):
        raise SourceChanged(f"{where}: header {sorted(columns)} is neither the topic nor the sector layout")
    return SECTOR <= columns, rows


def _kind(written: str, rule: Rule) -> str:
    """The observation's kind from the value's mark, the conversion and the rule's override."""
    if rule.value_rule in ("complement", "complement_upper"):
        written = {"lower_bound": "upper_bound", "upper_bound": "lower_bound"}.get(written, written)
    override = {"complement_upper": "upper_bound", "sum": "lower_bound"}.get(rule.value_rule, rule.kind)
    if override is None or written == override:
        return written
    if written in ("exact", "approximate"):
        return override
    raise ValueError(f"a {written.replace('_', ' ')} cannot be read as a {override.replace('_', ' ')}")


def _observation(row: dict, rule: Rule, sector_layout: bool) -> dict:
    parsed = parse_value(row["value_pct"])
    if parsed is None:
        raise ValueError("the rule stores this row but value_pct is empty")
    written, low, high = parsed
    if rule.value_rule in ("complement", "complement_upper"):
        low, high = (100.0 - high, 100.0 - low) if high is not None else (100.0 - low, None)
    kind = _kind(written, rule)
    firm = (row.get("firm/publisher") if sector_layout else row.get("firm")) or ""
    note_parts = [firm.strip(), (row.get("note") or "").strip()]
    if rule.value_rule in ("complement", "complement_upper"):
        note_parts.insert(0, f"converted: domestic = 100 - foreign {row['value_pct'].strip()}%")
    url = _URL.search(row.get("source_url") or "")
    if not 0.0 <= low <= (high if high is not None else low) <= 100.0:
        raise ValueError(f"value_pct {row['value_pct']!r} is not a percentage 0-100")
    return {
        OBS_SERIES: rule.series, OBS_VALUE: low / 100.0, OBS_VALUE_HIGH: None if high is None else high / 100.0,
        OBS_KIND: kind, OBS_SOURCE_URL: url.group(0) if url else None, OBS_QUOTE: row["quote"].strip() or None,
        OBS_RELIABILITY: reliability(row.get("note") or ""), "_note": note_parts,
    }


def _dated(record: dict, row: dict, rule: Rule) -> list[dict]:
    if rule.date == "span":
        return [{**record, OBS_DATE: d, OBS_PERIOD_TYPE: "quarter", "_span": row["period"].strip()}
                for d in _quarters(row["period"])]
    period = parse_period(rule.date or row["period"])
    if period is None:
        raise ValueError(f"period {row['period']!r} names no single period; give the rule a date or skip the row")
    date, period_type, note = period
    if rule.date:
        note = f"period {row['period'].strip()!r} dated {rule.date}"
    return [{**record, OBS_DATE: date, OBS_PERIOD_TYPE: period_type, "_note": [note, *record["_note"]]}]


def _summed(records: list[dict]) -> dict:
    first = records[0]
    total = sum(r[OBS_VALUE] for r in records)
    parts = " + ".join(f"{r[OBS_VALUE] * 100:g}%" for r in records)
    return {**first, OBS_VALUE: round(total, 10), "_note": [f"sum of {len(records)} domestic vendors' shares "
                                                           f"({parts}); other domestic vendors not given",
                                                           *first["_note"]]}


def _finish(records: list[dict]) -> list[dict]:
    """Sum the parts of `sum` rules; keep a span's range only where the series has no own value."""
    parts: dict[tuple, list[dict]] = {}
    out, spans = [], []
    for r in records:
        if r.pop("_sum"):
            parts.setdefault((r[OBS_SERIES], r[OBS_DATE]), []).append(r)
        else:
            (spans if "_span" in r else out).append(r)
    out += [_summed(group) for group in parts.values()]
    own = {(r[OBS_SERIES], r[OBS_DATE]) for r in out}
    out += [{**r, "_note": [f"range stated for every quarter of {r['_span']}; stored only for quarters "
                            "without their own value", *r["_note"]]}
            for r in spans if (r[OBS_SERIES], r[OBS_DATE]) not in own]
    for r in out:
        r[OBS_NOTE] = "; ".join(p for p in r.pop("_note") if p) or None
        r.pop("_span", None)
    return out


def parse(raw: bytes, options: Mapping | None = None) -> Parsed:
    """Options: where (file name for messages), filename and data_dir (for the rules)."""
    options = dict(options or {})
    where = options.get("where", "evidence CSV")
    rules = load_rules(options["data_dir"], options["filename"])
    sector_layout, rows = _rows(raw, where)
    problems: list = []
    counts: Counter = Counter()
    records, warnings = [], []
    for number, row in rows:
        status = (row.get("status") or "actual").strip()
        if sector_layout and status != "actual":
            counts[f"{status}_not_stored"] += 1  # publishers' forecasts and policy targets
            continue
        metric = row["metric"].strip()
        sector = (row.get("sector") or "").strip()
        rule = next((r for r in rules if metric.startswith(r.metric)
                     and (r.sector is None or sector.startswith(r.sector))), None)
        if rule is None:
            counts["unmapped_not_stored"] += 1
            warnings.append(f"{where}, row {number}: metric {metric[:80]!r} has no rule in data/{RULES_FILE}")
            continue
        if rule.skip:
            counts[f"{rule.skip}_not_stored"] += 1
            continue
        try:
            record = _observation(row, rule, sector_layout)
            record["_sum"] = rule.value_rule == "sum"
            records += _dated(record, row, rule)
        except ValueError as exc:
            problems.append((where, number, str(exc)))
    records = _finish(records)
    frame = pd.DataFrame(records, columns=OBSERVATION_COLUMNS + EVIDENCE_COLUMNS)
    for _, row in frame[frame.duplicated([OBS_SERIES, OBS_DATE], keep=False)].iterrows():
        problems.append((where, None, f"{row[OBS_SERIES]} has two values for {row[OBS_DATE]}"))
    if problems:
        raise InvalidData(f"{where}: {len(problems)} bad row(s)", problems)
    frame = frame.sort_values([OBS_SERIES, OBS_DATE]).reset_index(drop=True)
    return Parsed(observations=frame, warnings=warnings,
                  counts={"table": "evidence", "rows": len(rows), "stored": len(frame), **counts})
