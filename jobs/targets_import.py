"""`domshare import-targets FILE.csv`: a user's own policies and the share targets they set,
all or nothing.

Format (one target per row; row numbers count the header as row 1):
    policy_id   the policy's id (not a curated or feed policy's id); rows sharing it are
                one policy with several targets and must agree on title, issuer and date
    title, issuer, date       the policy's own words; date as in `domshare import`
                              (YYYY, YYYY-MM, YYYY-Qn, YYYY-MM-DD)
    sector, technology        codes of the sectors / technologies tables
    threshold | threshold_pct the share to reach: a fraction in (0, 1], or a percent in (0, 100]
    deadline    as `date`; a period means its last day (2027 -> 2027-12-31)
    series      the measuring series' key (empty when measure is `none`)
    measure     direct | proxy | none
    reason      why this series measures the target (required for a proxy); for `none`,
                the evidence that would answer it
    optional: url (the policy's link), bias (a proxy's direction: over | under | unknown,
              default unknown), claim (official | claimed | unofficial, default claimed:
              the policy as the user reports it), target_id (default
              <policy_id>-<sector>-<technology>)
Policies are stored with review_status `user`, targets with origin `user`; the accepted
file is kept as a snapshot (source `import-targets`). Importing the same file again changes
nothing; a changed row updates its policy or target.
"""
from __future__ import annotations

import calendar
import datetime as dt
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import Connection, select

from jobs.errors import InvalidData
from jobs.importer import (
    NOTHING, code_problem, csv_header, data_rows, number_hint, parse_number, parse_period, read_path,
)
from jobs.store import schema, writes

SOURCE = "import-targets"
USER = "user"
REQUIRED = ("policy_id", "title", "issuer", "date", "sector", "technology", "deadline", "series",
            "measure", "reason")
THRESHOLD_COLUMNS = {"threshold": 1.0, "threshold_pct": 100.0}  # column -> full scale
OPTIONAL = ("url", "bias", "claim", "target_id")
MEASURES = ("direct", "proxy", "none")
BIASES = ("over", "under", "unknown")
CLAIMS = ("official", "claimed", "unofficial")  # default claimed: a user's policy is their report of it
PRECISION = {"year": "year", "quarter": "month", "month": "month", "day": "day"}


@dataclass
class TargetsSummary:
    file: str
    snapshot_id: int
    policies: writes.UpsertCounts
    targets: writes.UpsertCounts
    target_ids: list[str]


def period_end(label: str) -> dt.date:
    """The last day of a period label (2027 -> 2027-12-31, 2027-Q2 -> 2027-06-30); a day is itself."""
    start, kind = parse_period(label)
    if kind == "day":
        return start
    months = {"year": 12, "quarter": 3, "month": 1}[kind]
    year, month = start.year, start.month + months - 1
    return dt.date(year, month, calendar.monthrange(year, month)[1])


def targets_context(conn: Connection) -> dict:
    """What read_targets checks a file against, read from the store."""
    p = schema.policies
    return {
        "sectors": dict(conn.execute(select(schema.sectors.c.code, schema.sectors.c.name)).all()),
        "technologies": dict(conn.execute(select(schema.technologies.c.code, schema.technologies.c.name)).all()),
        "series": set(conn.execute(select(schema.series.c.key).where(schema.series.c.kind != "context")).scalars()),
        "foreign_policies": dict(conn.execute(select(p.c.id, p.c.review_status).where(p.c.review_status != USER)).all()),
        "foreign_targets": set(conn.execute(select(schema.targets.c.id)
                                            .where(schema.targets.c.origin != USER)).scalars()),
    }


def _threshold(raw: str, column: str, scale: float) -> tuple[float | None, str | None]:
    value = parse_number(raw)
    if value is None:
        return None, (f"{column} is empty" if not raw else f"{column} {raw!r} is not a number{number_hint(raw)}")
    if not 0.0 < value <= scale:
        hint = " (percentages go in a 'threshold_pct' column)" if scale == 1.0 and 1 < value <= 100 else ""
        return None, f"{column} {raw} is outside (0, {scale:g}]{hint}"
    return value / scale, None


def _measure_problems(row: dict, series: set[str]) -> list[str]:
    measure, key = row["measure"], row["series"]
    if measure not in MEASURES:
        return [f"measure {measure!r} is not one of {', '.join(MEASURES)}"]
    out = []
    if measure == "none" and key:
        out.append(f"measure none takes no series (got {key!r}): a series that measures the target is "
                   "direct or proxy")
    if measure != "none":
        if not key:
            out.append(f"measure {measure} needs the measuring series' key in 'series'")
        elif key not in series:
            out.append(f"series {key!r} is not in the store (a domestic-share series: see `domshare status`)")
    if measure == "proxy" and not row["reason"]:
        out.append("a proxy needs a reason: what it measures instead, and why it stands in")
    bias = row.get("bias", "")
    if bias and (measure != "proxy" or bias not in BIASES):
        out.append(f"bias {bias!r}: only a proxy has a bias, one of {', '.join(BIASES)}")
    return out


def _policy_row(row: dict, date: dt.date, kind: str, snapshot_note: str) -> dict:
    return {
        "id": row["policy_id"], "date": date, "date_precision": PRECISION[kind], "title": row["title"],
        "issuer": row["issuer"] or None, "url": row.get("url") or None, "source": snapshot_note,
        "review_status": USER, "claim": row.get("claim") or "claimed",
    }


def read_targets(content: bytes, where: str, *, sectors: dict[str, str], technologies: dict[str, str],
                 series: set[str], foreign_policies: dict[str, str] = None,
                 foreign_targets: set[str] = frozenset()) -> tuple[list[dict], list[dict]]:
    """Validate a whole file; return (policy rows, target rows) or raise InvalidData."""
    foreign_policies = foreign_policies or {}
    reader, fields, threshold_column = csv_header(content, where, REQUIRED, THRESHOLD_COLUMNS, OPTIONAL)
    name = where.rsplit("/", 1)[-1]
    problems: list[tuple[str, int | None, str]] = []
    policies: dict[str, tuple[dict, int]] = {}
    targets: dict[str, tuple[dict, int]] = {}
    for number, row in data_rows(reader, fields, where, problems):
        found = []
        pid = row["policy_id"]
        if not pid:
            found.append("policy_id is empty")
        elif pid in foreign_policies:
            found.append(f"policy id {pid!r} is taken by a {foreign_policies[pid]} policy; choose another id")
        if row.get("claim") and row["claim"] not in CLAIMS:
            found.append(f"claim {row['claim']!r} is not one of {', '.join(CLAIMS)}")
        if not row["title"]:
            found.append("title is empty: give the policy's own title")
        try:
            date, kind = parse_period(row["date"])
        except ValueError as exc:
            found.append(f"date: {exc}")
            date = kind = None
        try:
            deadline = period_end(row["deadline"])
        except ValueError as exc:
            found.append(f"deadline: {exc}")
            deadline = None
        threshold, problem = _threshold(row[threshold_column], threshold_column, THRESHOLD_COLUMNS[threshold_column])
        found += [problem] if problem else []
        found += [p for kind_, code in (("sector", row["sector"]), ("technology", row["technology"]))
                  if (p := code_problem(kind_, code, sectors if kind_ == "sector" else technologies))]
        found += _measure_problems(row, series)
        if date and deadline and deadline < date:
            found.append(f"deadline {deadline} is before the policy's date {date}")
        tid = row.get("target_id") or f"{pid}-{row['sector']}-{row['technology']}"
        if tid in foreign_targets:
            found.append(f"target id {tid!r} is taken by a curated target; give a 'target_id'")
        elif tid in targets:
            found.append(f"duplicate target id {tid!r} (first at row {targets[tid][1]}); give each a 'target_id'")
        if found:
            problems += [(where, number, p) for p in found]
            continue
        policy = _policy_row(row, date, kind, f"user import of {name}")
        if pid in policies and (first := policies[pid])[0] != policy:
            differing = sorted(k for k in policy if policy[k] != first[0][k])
            problems.append((where, number, f"policy {pid!r} has another {', '.join(differing)} at row {first[1]}"))
            continue
        policies.setdefault(pid, (policy, number))
        measure = None if row["measure"] == "none" else row["measure"]
        encoding = (f"threshold {row[threshold_column]} in '{threshold_column}' read as {threshold:g}; "
                    f"deadline {row['deadline']!r} read as {deadline} (the end of the period); "
                    f"from the user's file {name}, row {number}")
        targets[tid] = ({
            "id": tid, "policy_id": pid, "sector": row["sector"], "technology": row["technology"],
            "threshold": threshold, "deadline": deadline, "series_key": row["series"] or None,
            "measure": measure, "measure_reason": row["reason"] or None if measure else None,
            "bias": (row.get("bias") or "unknown") if measure == "proxy" else None,
            "missing_evidence": row["reason"] or None if measure is None else None,
            "encoding": encoding, "origin": USER,
        }, number)
    if problems:
        raise InvalidData(f"{where}: {len(problems)} bad row(s); {NOTHING}", problems)
    if not targets:
        raise InvalidData(f"{where}: {NOTHING}", [(where, 2, "the file has a header but no data rows")])
    rows = [t for t, _ in targets.values()]
    return [_with_scope(p, rows) for p, _ in policies.values()], rows


def _with_scope(policy: dict, targets: list[dict]) -> dict:
    """The policy with the sectors and technologies its targets name (;-separated)."""
    mine = [t for t in targets if t["policy_id"] == policy["id"]]
    return {**policy, "sectors": ";".join(sorted({t["sector"] for t in mine})),
            "technologies": ";".join(sorted({t["technology"] for t in mine}))}


def import_targets(conn: Connection, path: Path) -> TargetsSummary:
    """Validate `path` and write it on `conn` (the caller's transaction) or raise InvalidData."""
    path = Path(path)
    where = str(path)
    content = read_path(path)
    policies, targets = read_targets(content, where, **targets_context(conn))
    snapshot_id = writes.save_snapshot(conn, source=SOURCE, url=path.resolve().as_uri(), content=content,
                                       media_type="text/csv", note=f"user targets from {path.name}")
    policy_counts = writes.upsert_policies(conn, [{**p, "snapshot_id": snapshot_id} for p in policies])
    target_counts = writes.upsert_targets(conn, targets)
    return TargetsSummary(file=where, snapshot_id=snapshot_id, policies=policy_counts, targets=target_counts,
                          target_ids=[t["id"] for t in targets])
