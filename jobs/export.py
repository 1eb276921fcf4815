"""CSV exports of the store: observations and the evidence of every target (evidence.csv),
and the forecasts, crossings and target assessments of one complete run, plus run.json. The UI's downloads call `export_frames`,
so files and screen show the same numbers. Files are written to a temporary name in the
target directory and renamed, so a reader never sees half a file."""
from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path

import pandas as pd

from forecast.frames import SERIES, TARGETS_EXPORT_COLUMNS
from jobs import evidence
from jobs.errors import ConfigError
from jobs.files import give_default_mode
from jobs.store import db, read

FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")
RUN_FILES = ("forecasts.csv", "crossings.csv", "targets.csv")
# Decimals kept per numeric column, so a file shows what the numbers know and no float noise
# (5.9 % is 0.059, not 0.059000000000000004). Observed shares and thresholds: 6 decimals,
# finer than any source (the finest give percentages to 2 decimals, or counts of systems);
# forecast values: 4 (0.01 percentage points: a model's output is no better); probabilities:
# 3 (a share of 500 sample paths moves in steps of 0.002).
DECIMALS = {
    "value": 6, "value_high": 6, "threshold": 6,
    "yhat": 4, "lower_80": 4, "upper_80": 4, "lower_95": 4, "upper_95": 4,
    "probability_by_horizon": 3, "probability_by_deadline": 3,
    "probability_by_2027": 3, "probability_by_2030": 3,
    "skill": 3,  # 1 - CRPS / naive's: a difference of 0.001 in it means nothing
}
# Counts a missing value made float (8.0): written as whole numbers, empty when missing.
COUNTS = ("n_obs", "skill_origins")


def neutralise(value):
    """A text cell a spreadsheet would run as a formula gets a leading single quote."""
    if isinstance(value, str) and value.startswith(FORMULA_PREFIXES):
        return "'" + value
    return value


def neutralise_frame(frame: pd.DataFrame) -> pd.DataFrame:
    text = frame.select_dtypes(include="object").columns
    return frame.assign(**{c: frame[c].map(neutralise) for c in text})


def rounded(frame: pd.DataFrame) -> pd.DataFrame:
    """The frame with each numeric column of DECIMALS rounded to its decimals, and COUNTS whole."""
    columns = {c: d for c, d in DECIMALS.items() if c in frame.columns and pd.api.types.is_numeric_dtype(frame[c])}
    frame = frame.round(columns) if columns else frame
    counts = {c: "Int64" for c in COUNTS if c in frame.columns and pd.api.types.is_numeric_dtype(frame[c])}
    return frame.astype(counts) if counts else frame


def csv_text(frame: pd.DataFrame) -> str:
    """A frame as export CSV text (neutralised): the files and the UI's downloads both use this."""
    return neutralise_frame(frame).to_csv(index=False, lineterminator="\n")


def resolve_run(conn, run_id) -> dict | None:
    """`None`/'latest' -> the latest complete run (or None); an id must name a complete run."""
    if run_id in (None, "latest"):
        return read.latest_run(conn)
    run = read.get_run(conn, int(run_id))
    if run is None or run["status"] != "complete":
        state = "does not exist" if run is None else f"is {run['status']}, not complete"
        raise ConfigError(f"run {run_id} {state}")
    return run


def run_metadata(run: dict) -> dict:
    meta = {k: (v.isoformat() if hasattr(v, "isoformat") else v) for k, v in run.items()}
    meta["params"] = json.loads(run["params"]) if run.get("params") else None
    return meta


def export_frames(conn_or_engine, run_id=None, series_keys=None) -> dict[str, pd.DataFrame]:
    """{file name: frame}: observations.csv and evidence.csv always; the run's files when a
    run exists. With `series_keys`, only the rows of those series (each file's `series`
    column), and only theirs are read: the UI's downloads of one series cost one series."""
    with read.connect(conn_or_engine) as conn:
        targets = read.target_evidence(conn)
        observations = read.observation_evidence(conn, series_keys)
        frames = {"observations.csv": evidence.observations_with_evidence(
            read.observations_export_frame(conn, series_keys), observations)}
        run = resolve_run(conn, run_id)
        if run is not None:
            per_run = read.run_frames(conn, run["id"], series_keys)
            frames.update({name: per_run[name.removesuffix(".csv")] for name in RUN_FILES})
            frames["targets.csv"] = evidence.targets_with_evidence(
                per_run["targets"], targets, per_run["run_series"], observations,
            )[TARGETS_EXPORT_COLUMNS + evidence.TARGETS_EVIDENCE_COLUMNS]
            frames["history.csv"] = read.target_history(conn, up_to=run["id"])  # every run up to this one
            frames["alerts.csv"] = read.alerts_frame(conn, up_to=run["id"])
        frames["evidence.csv"] = evidence.evidence_rows(targets, observations)
    if series_keys is not None:
        keys = [series_keys] if isinstance(series_keys, str) else list(series_keys)
        frames = {name: frame[frame[SERIES].isin(keys)] if SERIES in frame.columns else frame
                  for name, frame in frames.items()}
    return {name: rounded(frame) for name, frame in frames.items()}


def row_counts(conn_or_engine, run_id=None, series_keys=None) -> dict[str, int]:
    """{file name: rows} of export_frames(conn, run_id, series_keys), in its order, counted
    by the database without reading the rows (what the UI's download buttons say)."""
    with read.connect(conn_or_engine) as conn:
        per_series = read.observation_counts(conn, series_keys)
        counts = {"observations.csv": sum(per_series.values())}
        run = resolve_run(conn, run_id)
        if run is not None:
            per_run = read.run_row_counts(conn, run["id"], series_keys)
            counts.update({name: per_run[name.removesuffix(".csv")]
                           for name in (*RUN_FILES, "history.csv", "alerts.csv")})
        links = evidence.evidence_links(read.target_evidence(conn))
        counts["evidence.csv"] = int(links[SERIES].map(per_series).fillna(0).sum())
    return counts


def _atomic_write(path: Path, text: str) -> None:
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    give_default_mode(fd)
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as handle:
            handle.write(text)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def write_export(engine, out_dir: Path, run_id=None) -> tuple[list[Path], dict | None]:
    """Write the files; returns (paths written, run metadata or None when there is no run)."""
    db.require_schema(engine)
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    with engine.connect() as conn:
        frames = export_frames(conn, run_id)
        run = resolve_run(conn, run_id)
    written = []
    for name, frame in frames.items():
        _atomic_write(out_dir / name, csv_text(frame))
        written.append(out_dir / name)
    meta = None
    if run is not None:
        meta = run_metadata(run)
        _atomic_write(out_dir / "run.json", json.dumps(meta, indent=2, sort_keys=True, default=str) + "\n")
        written.append(out_dir / "run.json")
    return written, meta
