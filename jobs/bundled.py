"""Load the bundled real data in data/ into the store (what `domshare init` does).

Every file listed in data/manifest.csv is checked against its sha256, kept as a raw
snapshot (reused when the same bytes are already stored) and converted by its
source's own parser. Catalogue tables (sectors, technologies, series) come from the
CSVs in data/. Idempotent: a second run finds every row unchanged and adds nothing.

A manifest row with role `superseded` (the older StatCounter export) is applied only
when its snapshot is first stored, before the newer export: the newer values then
show up as revisions of the older ones, and a re-run cannot flip them back. Likewise a
value that a later pull replaced (its snapshot is not a bundled one) is left alone.

A re-run does not parse again what it has loaded before: a file whose bytes are stored
is skipped when everything else that decides what it turns into is unchanged too. That
is recorded as one more snapshot (source `bundled-inputs`): the sha256 of every
data/*.csv table (catalogue, mappings, targets, manifest) and of the loader and parser code.
"""
from __future__ import annotations

import csv
import io
import logging
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd
from sqlalchemy import Connection, Engine, select
from tqdm import tqdm

from jobs import validate
from jobs.errors import ConfigError, InvalidData
from jobs.sources import policies
from jobs.sources.registry import KINDS, module_for
from jobs.store import schema, writes
from jobs.store.db import transaction, upgrade

log = logging.getLogger(__name__)

MEDIA_TYPES = {
    ".csv": "text/csv", ".xls": "application/vnd.ms-excel",
    ".xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}
INPUTS_SOURCE = "bundled-inputs"
BUNDLED_NOTE = "bundled file data/"  # how a bundled file's snapshot note starts
CODE_FILES = (Path(__file__), Path(writes.__file__), Path(validate.__file__),
              *sorted((Path(__file__).resolve().parent / "sources").glob("*.py")))
SERIES_COLUMNS = ("key", "sector", "technology", "geography", "unit", "frequency", "kind",
                  "title", "description", "source", "publisher", "source_url", "caveat")


@dataclass
class BundledSummary:
    files: int = 0
    snapshots_added: int = 0
    files_skipped: int = 0  # stored before, with the same inputs: not parsed again
    inputs_changed: bool = False
    sectors: writes.UpsertCounts = field(default_factory=writes.UpsertCounts)
    technologies: writes.UpsertCounts = field(default_factory=writes.UpsertCounts)
    series: writes.UpsertCounts = field(default_factory=writes.UpsertCounts)
    observations: writes.UpsertCounts = field(default_factory=writes.UpsertCounts)
    policies: writes.UpsertCounts = field(default_factory=writes.UpsertCounts)
    targets: writes.UpsertCounts = field(default_factory=writes.UpsertCounts)
    not_stored: dict = field(default_factory=dict)  # file -> parser counts of rows left out
    kept_newer: int = 0  # bundled values not applied because a pull or import replaced them
    warnings: list[str] = field(default_factory=list)

    @property
    def changed_anything(self) -> bool:
        parts = (self.sectors, self.technologies, self.series, self.observations, self.policies, self.targets)
        # the bundled-inputs record alone is bookkeeping, not data
        return self.snapshots_added > 0 or any(p.added or p.changed for p in parts)

    def lines(self) -> list[str]:
        def fmt(c: writes.UpsertCounts) -> str:
            return f"{c.added} added, {c.changed} changed, {c.unchanged} unchanged"
        obs = self.observations
        head = [
            f"bundled files: {self.files} checked against data/manifest.csv, "
            f"{self.snapshots_added} newly kept as raw snapshots"
            + (f", {self.files_skipped} loaded before with the same inputs (not parsed again)"
               if self.files_skipped else ""),
            f"sectors: {fmt(self.sectors)}", f"technologies: {fmt(self.technologies)}",
            f"series: {fmt(self.series)}",
        ]
        if self.files and self.files_skipped == self.files:
            return head + ["observations, policies, targets: unchanged (nothing to parse again)"]
        return head + [
            f"observations: {obs.added} added, {obs.changed} revised"
            + (" (by a newer file of the same source; old values kept as revisions)" if obs.changed else "")
            + f", {obs.unchanged} unchanged"
            + (f", {self.kept_newer} newer pulled values kept" if self.kept_newer else ""),
            f"policies: {fmt(self.policies)}", f"targets: {fmt(self.targets)}",
        ] + [f"warning: {w}" for w in self.warnings]

    def left_out_lines(self) -> list[str]:
        """Rows the parsers skip on purpose, per file (data/README.md, 'Decisions', says why)."""
        return [f"data/{path}: " + ", ".join(f"{k.removesuffix('_not_stored').replace('_', ' ')}: {v} rows"
                                             for k, v in counts.items())
                for path, counts in self.not_stored.items()]


def read_csv(path: Path) -> list[dict]:
    return list(csv.DictReader(io.StringIO(Path(path).read_text(encoding="utf-8"))))


def _blank_to_none(row: dict) -> dict:
    return {k: (v.strip() or None) if isinstance(v, str) else v for k, v in row.items()}


def _catalogue(conn: Connection, data_dir: Path, summary: BundledSummary) -> dict[str, str]:
    """Write data/'s sectors, technologies and series; {series key: unit} of the series."""
    summary.sectors = writes.upsert_sectors(conn, [_blank_to_none(r) for r in read_csv(data_dir / "sectors.csv")])
    summary.technologies = writes.upsert_technologies(
        conn, [_blank_to_none(r) for r in read_csv(data_dir / "technologies.csv")])
    rows = [{**{c: _blank_to_none(r).get(c) for c in SERIES_COLUMNS}, "origin": "bundled"}
            for r in read_csv(data_dir / "series.csv")]
    summary.series = writes.upsert_series(conn, rows)
    return {r["key"]: r["unit"] or "share" for r in rows}


def _options(entry: dict, data_dir: Path) -> dict:
    path = entry["path"]
    return {"where": f"data/{path}", "filename": Path(path).name, "data_dir": data_dir}


def _earlier_bundled_snapshots(conn: Connection) -> set[int]:
    """Snapshots of bundled files stored by earlier loads, also of versions no longer in the
    manifest: a newer bundled copy of a file replaces their values (they are not pulls)."""
    snaps = schema.snapshots
    return set(conn.execute(select(snaps.c.id).where(snaps.c.note.like(f"{BUNDLED_NOTE}%"))).scalars())


def _without_newer_values(conn: Connection, frame, bundled_ids: set[int]):
    """Drop rows whose stored value came from a non-bundled snapshot (a later pull):
    re-running init must never turn fresher data back into the bundled copy."""
    obs = schema.observations
    keys = sorted(set(frame["series_key"]))
    newer = {
        (key, date) for key, date, snap in conn.execute(
            select(obs.c.series_key, obs.c.date, obs.c.snapshot_id).where(obs.c.series_key.in_(keys)))
        if snap is not None and snap not in bundled_ids
    }
    if not newer:
        return frame
    keep = [(k, d) not in newer for k, d in zip(frame["series_key"], frame["date"])]
    return frame[keep]


def _verify_checksums(data_dir: Path, manifest: list[dict]) -> None:
    """Refuse to load anything if a bundled file differs from its manifest sha256 or names
    no source kind as its parser."""
    problems = []
    for number, entry in enumerate(manifest, start=2):
        path = data_dir / entry["path"]
        if entry["parser"] not in KINDS:
            problems.append(("data/manifest.csv", number, f"parser {entry['parser']!r} of data/{entry['path']} is "
                                                          f"no source kind (known: {', '.join(sorted(KINDS))})"))
        elif not path.is_file():
            problems.append((f"data/{entry['path']}", None, "listed in data/manifest.csv but missing"))
        elif (digest := writes.sha256_hex(path.read_bytes())) != entry["sha256"]:
            problems.append((f"data/{entry['path']}", None,
                             f"sha256 {digest} differs from data/manifest.csv ({entry['sha256']})"))
    if problems:
        raise InvalidData("data/manifest.csv and the bundled files disagree; nothing was loaded", problems)


def _inputs_record(data_dir: Path) -> bytes:
    """Everything besides a raw file's bytes that decides what loading it writes."""
    root = Path(__file__).resolve().parent.parent
    lines = [f"data/{p.name} {writes.sha256_hex(p.read_bytes())}" for p in sorted(data_dir.glob("*.csv"))]
    lines += [f"{p.resolve().relative_to(root)} {writes.sha256_hex(p.read_bytes())}" for p in CODE_FILES]
    return ("\n".join(lines) + "\n").encode()


def load_bundled(conn: Connection, data_dir: Path, *, progress: bool = False) -> BundledSummary:
    """Load every bundled file into the store on `conn` (the caller's transaction)."""
    data_dir = _checked_data_dir(data_dir)
    summary = BundledSummary()
    manifest = read_csv(data_dir / "manifest.csv")
    _verify_checksums(data_dir, manifest)
    inputs = _inputs_record(data_dir)
    inputs_known = writes.find_snapshot(conn, source=INPUTS_SOURCE, sha256=writes.sha256_hex(inputs)) is not None
    known_series = _catalogue(conn, data_dir, summary)
    policy_frames = []  # data/policies.csv, data/policies_new.csv: each with its snapshot
    bundled_ids = _earlier_bundled_snapshots(conn)
    # disable=None: no bar when stderr is not a terminal (logs, CI, pipes get no bar spam)
    for entry in tqdm(manifest, desc="loading bundled data", unit="file", disable=None if progress else True):
        path = data_dir / entry["path"]
        content = path.read_bytes()
        digest = writes.sha256_hex(content)
        existed = writes.find_snapshot(conn, source=entry["source"], sha256=digest) is not None
        snapshot_id = writes.save_snapshot(
            conn, source=entry["source"], url=entry["url"], content=content,
            media_type=MEDIA_TYPES.get(path.suffix.lower()), licence=entry["licence"] or None,
            note=f"{BUNDLED_NOTE}{entry['path']}; publisher: {entry['publisher']}",
        )
        summary.files += 1
        bundled_ids.add(snapshot_id)
        summary.snapshots_added += not existed
        if existed and (inputs_known or entry["role"] == "superseded"):
            summary.files_skipped += inputs_known
            continue
        parsed = module_for(entry["parser"]).parse(content, _options(entry, data_dir))
        summary.warnings += parsed.warnings
        left_out = {k: v for k, v in parsed.counts.items() if k.endswith("not_stored") and v}
        if left_out:
            summary.not_stored[entry["path"]] = left_out
        if entry["parser"] == "policies":
            policy_frames.append(parsed.policies.assign(snapshot_id=snapshot_id))
            continue
        validate.check_observations(parsed.observations, f"data/{entry['path']}", known_series)
        frame = _without_newer_values(conn, parsed.observations, bundled_ids)
        summary.kept_newer += len(parsed.observations) - len(frame)
        summary.observations += writes.upsert_observations(conn, frame, snapshot_id)

    if policy_frames:
        _policies_and_targets(conn, data_dir, pd.concat(policy_frames, ignore_index=True), set(known_series), summary)
    if not inputs_known:
        summary.inputs_changed = True
        writes.save_snapshot(conn, source=INPUTS_SOURCE, url=data_dir.resolve().as_uri(), content=inputs,
                             media_type="text/plain",
                             note="inputs of the bundled load besides the raw files (sha256 of each)")
    for warning in summary.warnings:
        log.warning(warning)
    return summary


def _policies_and_targets(conn: Connection, data_dir: Path, policy_frame, known_series: set[str],
                          summary: BundledSummary) -> None:
    """Store the curated policies with their claim (data/policy_claims.csv), then the share
    targets they set (thresholds from data/target_increments.csv and data/target_encodings.csv,
    measuring series from data/target_measures.csv)."""
    repeated = sorted(set(policy_frame.loc[policy_frame["id"].duplicated(), "id"]))
    if repeated:
        raise InvalidData(f"policy ids {repeated} appear in more than one bundled policies file")
    policy_frame = policies.with_claims(policy_frame, read_csv(data_dir / "policy_claims.csv"))
    summary.policies = writes.upsert_policies(conn, policy_frame)
    targets, warnings = policies.build_targets(
        policy_frame, read_csv(data_dir / "target_increments.csv"), read_csv(data_dir / "target_measures.csv"),
        read_csv(data_dir / "target_encodings.csv"))
    named = set(targets["series_key"].dropna()) | {
        key for cell in targets["related_series"].dropna() for key in cell.split(";")}
    bad = named - known_series
    if bad:
        raise InvalidData(f"data/target_measures.csv names unknown series {sorted(bad)}")
    summary.warnings += warnings
    summary.targets = writes.upsert_targets(conn, targets)


def _checked_data_dir(data_dir: Path) -> Path:
    data_dir = Path(data_dir)
    if not (data_dir / "manifest.csv").is_file():
        raise ConfigError(f"{data_dir} is not a domshare data folder (it has no manifest.csv): point "
                          "--data-dir or DOMSHARE_DATA_DIR at the repository's data/ folder, or leave them unset")
    return data_dir


def init_database(engine: Engine, data_dir: Path, *, progress: bool = False) -> BundledSummary:
    """Upgrade the schema to head, then load the bundled data in one transaction."""
    _checked_data_dir(data_dir)  # before the schema is created: a wrong folder leaves nothing behind
    upgrade(engine)
    with transaction(engine) as conn:
        return load_bundled(conn, data_dir, progress=progress)
