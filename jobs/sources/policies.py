"""Curated policies (data/policies.csv) and the share targets they set.

`parse` returns the policies frame (columns of the `policies` table plus the raw
`target_share` and `deadline`). Dates keep their precision: `2014` -> 2014-01-01
(year), `2014-02` -> 2014-02-01 (month), `2014-12-17` (day).

`build_targets` turns policies with a `target_share` into one target per listed
sector x technology. Target ids: `<policy>-<sector>` when the policy names one
technology (e.g. `P05-banking`), else `<policy>-<sector>-<technology>` (e.g.
`P10-government-os`). Policies in the same increment group (data/target_increments.csv,
e.g. the 3-5-2 schedule P11-P13) get CUMULATIVE thresholds in deadline order
(0.30, 0.80, 1.00). The measuring series comes from data/target_measures.csv.
"""
from __future__ import annotations

import csv
import datetime as dt
import io
import re
from typing import Mapping

import pandas as pd

from jobs.errors import InvalidData, SourceChanged
from jobs.sources.base import Parsed

SOURCE = "policies"
REQUIRED = ("id", "date", "title", "issuer", "sectors", "technology", "target_share", "deadline", "source", "note")
_URL = re.compile(r"https?://[^\s;,)]+")
MEASURES = ("direct", "proxy")


def parse_date(label: str) -> tuple[dt.date, str]:
    """(first day of the period, precision) for YYYY, YYYY-MM or YYYY-MM-DD."""
    label = label.strip()
    if re.fullmatch(r"\d{4}", label):
        return dt.date(int(label), 1, 1), "year"
    if re.fullmatch(r"\d{4}-\d{2}", label):
        return dt.date(int(label[:4]), int(label[5:]), 1), "month"
    return dt.date.fromisoformat(label), "day"


def _split(cell: str) -> list[str]:
    return [part.strip() for part in cell.split(";") if part.strip()]


def parse(raw: bytes, options: Mapping | None = None) -> Parsed:
    """Options: where (file name for messages)."""
    where = dict(options or {}).get("where", "policies.csv")
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise InvalidData(f"{where}: not UTF-8", [(where, None, str(exc))]) from exc
    reader = csv.DictReader(io.StringIO(text))
    missing = [c for c in REQUIRED if c not in (reader.fieldnames or [])]
    if missing:
        raise SourceChanged(f"{where}: missing column(s) {', '.join(missing)}")
    records, problems, seen = [], [], set()
    for i, row in enumerate(reader):
        number = i + 2
        pid = row["id"].strip()
        if not pid or pid in seen:
            problems.append((where, number, f"id {pid!r} is empty or repeated"))
            continue
        seen.add(pid)
        try:
            date, precision = parse_date(row["date"])
        except ValueError:
            problems.append((where, number, f"date {row['date']!r} is not YYYY, YYYY-MM or YYYY-MM-DD"))
            continue
        share, deadline = None, None
        if row["target_share"].strip():
            try:
                share = float(row["target_share"])
            except ValueError:
                problems.append((where, number, f"target_share {row['target_share']!r} is not a number"))
                continue
            if not 0.0 < share <= 1.0:
                problems.append((where, number, f"target_share {share} is not a fraction in (0, 1]"))
                continue
            if not row["deadline"].strip():
                problems.append((where, number, "a target_share needs a deadline"))
                continue
        if row["deadline"].strip():
            try:
                deadline = dt.date.fromisoformat(row["deadline"].strip())
            except ValueError:
                problems.append((where, number, f"deadline {row['deadline']!r} is not YYYY-MM-DD"))
                continue
        url = _URL.search(row["source"])
        records.append({
            "id": pid, "date": date, "date_precision": precision, "title": row["title"].strip(),
            "issuer": row["issuer"].strip() or None, "sectors": ";".join(_split(row["sectors"])),
            "technologies": ";".join(_split(row["technology"])), "url": url.group(0) if url else None,
            "source": row["source"].strip() or None, "summary": row["note"].strip() or None,
            "review_status": "curated", "target_share": share, "deadline": deadline,
        })
    if problems:
        raise InvalidData(f"{where}: {len(problems)} bad row(s)", problems)
    urls = {r["id"]: r["url"] for r in records}
    for r in records:  # "as P10" / "copies as P06": the referenced policy's link
        ref = re.search(r"\bas (P\d+)\b", r["source"] or "")
        if r["url"] is None and ref:
            r["url"] = urls.get(ref.group(1))
    return Parsed(policies=pd.DataFrame(records), counts={"policies": len(records)})


def build_targets(policies: pd.DataFrame, increments: list[dict], measures: list[dict]) -> tuple[pd.DataFrame, list[str]]:
    """Targets (columns of the `targets` table) and warnings (targets without a measures row).

    increments: rows {policy_id, group, reason}; measures: rows
    {target_id, series_key, measure, reason} with measure direct|proxy|'' (none).
    """
    group_of = {r["policy_id"].strip(): r["group"].strip() for r in increments}
    with_target = policies[policies["target_share"].notna()].sort_values(["deadline", "id"])
    cumulative: dict[str, float] = {}
    threshold_of: dict[str, tuple[float, str | None]] = {}
    for row in with_target.itertuples():
        group = group_of.get(row.id)
        if group:
            cumulative[group] = round(cumulative.get(group, 0.0) + row.target_share, 10)
            threshold_of[row.id] = (min(cumulative[group], 1.0),
                                    f"cumulative share of the '{group}' schedule: this policy's increment "
                                    f"{row.target_share:.2f} added to the earlier years'")
        else:
            threshold_of[row.id] = (row.target_share, None)

    by_id = {r["target_id"].strip(): r for r in measures}
    targets, warnings = [], []
    for row in with_target.itertuples():
        techs = _split(row.technologies)
        for sector in _split(row.sectors):
            for tech in techs:
                tid = f"{row.id}-{sector}" if len(techs) == 1 else f"{row.id}-{sector}-{tech}"
                threshold, note = threshold_of[row.id]
                m = by_id.get(tid)
                if m is None:
                    warnings.append(f"target {tid} has no row in data/target_measures.csv: no measure")
                measure = (m or {}).get("measure", "").strip() or None
                if measure not in (None, *MEASURES):
                    raise InvalidData(f"target_measures.csv: {tid} has measure {measure!r}; "
                                      "use direct, proxy or leave empty")
                targets.append({
                    "id": tid, "policy_id": row.id, "sector": sector, "technology": tech,
                    "threshold": float(threshold), "deadline": row.deadline,
                    "series_key": (m["series_key"].strip() or None) if measure else None,
                    "measure": measure, "measure_reason": ((m or {}).get("reason") or "").strip() or None,
                    "note": note,
                })
    return pd.DataFrame(targets), warnings
