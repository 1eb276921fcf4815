"""Curated policies (data/policies.csv) and the share targets they set.

`parse` returns the policies frame (columns of the `policies` table plus the raw
`target_share` and `deadline`). Dates keep their precision: `2014` -> 2014-01-01
(year), `2014-02` -> 2014-02-01 (month), `2014-12-17` (day).

`build_targets` turns policies with a `target_share` into one target per listed
sector x technology. Target ids: `<policy>-<sector>` when the policy names one
technology (e.g. `P05-banking`), else `<policy>-<sector>-<technology>` (e.g.
`P10-government-os`). Policies in the same increment group (data/target_increments.csv,
e.g. the 3-5-2 schedule P11-P13) get CUMULATIVE thresholds in deadline order
(0.30, 0.80, 1.00); data/target_encodings.csv says how every other threshold was read
(P05's "most" = 0.50) and which policy repeats another (N06 = P17). A share without a
deadline sets no target. The measuring series, a proxy's bias, or the missing evidence
come from data/target_measures.csv; `with_claims` adds each policy's claim
(data/policy_claims.csv).
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
from jobs.store.schema import split_codes

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
        if row["deadline"].strip():
            try:
                deadline = dt.date.fromisoformat(row["deadline"].strip())
            except ValueError:
                problems.append((where, number, f"deadline {row['deadline']!r} is not YYYY-MM-DD"))
                continue
        url = _URL.search(row["source"])
        records.append({
            "id": pid, "date": date, "date_precision": precision, "title": row["title"].strip(),
            "issuer": row["issuer"].strip() or None, "sectors": ";".join(split_codes(row["sectors"])),
            "technologies": ";".join(split_codes(row["technology"])), "url": url.group(0) if url else None,
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


CLAIMS = ("official", "claimed", "unofficial")
BIASES = ("over", "under", "unknown")


def with_claims(policies: pd.DataFrame, claims: list[dict]) -> pd.DataFrame:
    """The policies with their `claim` (data/policy_claims.csv: policy_id, claim, reason): how far
    each is the state's own published word. Every policy needs a row."""
    by_id = {r["policy_id"].strip(): r["claim"].strip() for r in claims}
    problems = [("data/policy_claims.csv", None, f"{pid}: claim {by_id.get(pid)!r} is not one of {', '.join(CLAIMS)}")
                for pid in policies["id"] if by_id.get(pid) not in CLAIMS]
    if problems:
        raise InvalidData("data/policy_claims.csv: every policy needs a claim", problems)
    return policies.assign(claim=policies["id"].map(by_id))


def _thresholds(with_target: pd.DataFrame, increments: list[dict], encodings: dict) -> dict:
    """policy id -> (threshold, note): an increment group's cumulative share, else the encoded
    threshold (data/target_encodings.csv, e.g. P05's 'most'), else the policy's target_share."""
    group_of = {r["policy_id"].strip(): r["group"].strip() for r in increments}
    cumulative: dict[str, float] = {}
    threshold_of: dict[str, tuple[float, str | None]] = {}
    for row in with_target.itertuples():
        group = group_of.get(row.id)
        encoded = (encodings.get(row.id, {}).get("threshold") or "").strip()
        if group:
            cumulative[group] = round(cumulative.get(group, 0.0) + row.target_share, 10)
            threshold_of[row.id] = (min(cumulative[group], 1.0),
                                    f"cumulative share of the '{group}' schedule: this policy's increment "
                                    f"{row.target_share:.2f} added to the earlier years'")
        else:
            threshold_of[row.id] = (float(encoded) if encoded else row.target_share, None)
    return threshold_of


def build_targets(policies: pd.DataFrame, increments: list[dict], measures: list[dict],
                  encodings: list[dict] | None = None) -> tuple[pd.DataFrame, list[str]]:
    """Targets (columns of the `targets` table) and warnings (targets without a measures row).

    increments: rows {policy_id, group, reason}; measures: rows {target_id, series_key,
    measure, bias, reason, missing_evidence, related_series} with measure direct|proxy|''
    (none); encodings: rows {policy_id, threshold, sectors, technologies, duplicate_of,
    encoding} saying how threshold and deadline were read from the policy's words (an empty
    threshold keeps target_share; sectors/technologies narrow the policy's lists; a policy
    `duplicate_of` another sets no target of its own). A share without a deadline sets no
    target: it cannot be assessed.
    """
    encoded = {r["policy_id"].strip(): r for r in (encodings or [])}
    with_target = policies[policies["target_share"].notna() & policies["deadline"].notna()]
    with_target = with_target[[not (encoded.get(pid, {}).get("duplicate_of") or "").strip()
                               for pid in with_target["id"]]].sort_values(["deadline", "id"])
    threshold_of = _thresholds(with_target, increments, encoded)
    by_id = {r["target_id"].strip(): r for r in measures}
    targets, warnings = [], []
    for row in with_target.itertuples():
        enc = encoded.get(row.id, {})
        techs = split_codes(enc.get("technologies") or row.technologies)
        for sector in split_codes(enc.get("sectors") or row.sectors):
            for tech in techs:
                tid = f"{row.id}-{sector}" if len(techs) == 1 else f"{row.id}-{sector}-{tech}"
                threshold, note = threshold_of[row.id]
                m = by_id.get(tid)
                if m is None:
                    warnings.append(f"target {tid} has no row in data/target_measures.csv: no measure")
                targets.append(_target(tid, row, sector, tech, threshold, note, m or {}, enc))
    return pd.DataFrame(targets), warnings


def _target(tid: str, policy, sector: str, tech: str, threshold: float, note, m: dict, enc: dict) -> dict:
    def cell(name):
        return (m.get(name) or "").strip() or None
    measure, bias = cell("measure"), cell("bias")
    if measure not in (None, *MEASURES):
        raise InvalidData(f"target_measures.csv: {tid} has measure {measure!r}; use direct, proxy or leave empty")
    if (measure == "proxy") != (bias is not None) or bias not in (None, *BIASES):
        raise InvalidData(f"target_measures.csv: {tid}: a proxy, and only a proxy, states its bias "
                          f"({', '.join(BIASES)}); got measure {measure!r}, bias {bias!r}")
    if m and measure is None and cell("missing_evidence") is None:
        raise InvalidData(f"target_measures.csv: {tid} has no measure, so it must name the missing evidence")
    return {
        "id": tid, "policy_id": policy.id, "sector": sector, "technology": tech,
        "threshold": float(threshold), "deadline": policy.deadline,
        "series_key": cell("series_key") if measure else None,
        "measure": measure, "measure_reason": cell("reason"), "bias": bias,
        "missing_evidence": cell("missing_evidence"),
        "related_series": cell("related_series"),
        "encoding": (enc.get("encoding") or "").strip() or None, "note": note,
    }
