"""Read-only queries of the UI, cached and keyed on what they depend on.

Every cached read takes `db_url` and a `key` argument: the latest complete run id for
run results, or the store's `Stamp` for data that changes between runs (pulls, policies,
observations). The stamp is a handful of cheap max()/count() queries made on every
rerun, so a new run or pull shows as soon as it lands and nothing else is recomputed.
Nothing here writes, fits or schedules.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import pandas as pd
import streamlit as st
from sqlalchemy import Engine, and_, case, func, inspect, select

from forecast.frames import SERIES, TARGET_ID
from jobs import evidence, export
from jobs.bundled import INPUTS_SOURCE
from jobs.store import db as store_db
from jobs.store import read
from jobs.store import schema as t
from ui import periods

# The scheduler's job store table and pull-job ids (jobs/scheduler.py; the UI must not import it:
# that would import apscheduler. A test checks these stay equal).
APSCHEDULER_TABLE = "apscheduler_jobs"
PULL_JOB_PREFIX = "pull:"
# Each new stamp makes new cache entries; bound them so a server running for months does
# not keep every past run's frames in memory.
CACHE_ENTRIES = 32


@st.cache_resource(show_spinner=False)
def engine(db_url: str) -> Engine:
    return store_db.make_engine(db_url)


@dataclass(frozen=True)
class Stamp:
    """What the store holds right now, in a few numbers (hashable: a cache key)."""

    run_id: int | None
    run_finished_at: dt.datetime | None
    last_pull_id: int | None
    last_job_run_id: int | None
    policies: int
    observations: int
    last_observation_update: dt.datetime | None  # any series (a cache key)
    last_share_update: dt.datetime | None  # domestic-share series only (what forecasts use)


def stamp(db_url: str) -> Stamp:
    """Not cached: this is what tells the cached reads that something changed.
    NotInitialised (jobs.errors) when `domshare init` has not created the tables."""
    eng = engine(db_url)
    store_db.require_schema(eng)
    with eng.connect() as conn:
        run = read.latest_run(conn)
        return Stamp(
            run_id=run["id"] if run else None,
            run_finished_at=run["finished_at"] if run else None,
            last_pull_id=conn.execute(select(func.max(t.pulls.c.id))).scalar(),
            last_job_run_id=conn.execute(select(func.max(t.job_runs.c.id))).scalar(),
            policies=conn.execute(select(func.count()).select_from(t.policies)).scalar() or 0,
            observations=conn.execute(select(func.count()).select_from(t.observations)).scalar() or 0,
            last_observation_update=conn.execute(select(func.max(t.observations.c.updated_at))).scalar(),
            # Only series the forecasts use: a revised context value does not make them stale.
            # The newest of them, not max(): PostgreSQL reads max() over a join by a full scan,
            # this walks ix_observations_updated_at down to the first share (either database).
            last_share_update=conn.execute(
                select(t.observations.c.updated_at)
                .join(t.series, t.series.c.key == t.observations.c.series_key)
                .where(t.series.c.kind != "context", t.observations.c.updated_at.is_not(None))
                .order_by(t.observations.c.updated_at.desc()).limit(1)
            ).scalar(),
        )


def _frame(db_url: str, statement) -> pd.DataFrame:
    with engine(db_url).connect() as conn:
        result = conn.execute(statement)
        return pd.DataFrame(result.fetchall(), columns=list(result.keys()))


# --- reference data -------------------------------------------------------------------

@st.cache_data(show_spinner=False, max_entries=CACHE_ENTRIES)
def series_catalogue(db_url: str, key: Stamp) -> pd.DataFrame:
    """Every series with its sector and technology names, kind and source."""
    s, sec, tech = t.series, t.sectors, t.technologies
    obs = (
        select(t.observations.c.series_key, func.count().label("n_obs"),
               func.min(t.observations.c.date).label("first_date"),
               func.max(t.observations.c.date).label("last_date"),
               func.min(t.observations.c.period_type).label("period_min"),
               func.max(t.observations.c.period_type).label("period_max"))
        .group_by(t.observations.c.series_key).subquery()
    )
    statement = (
        select(s.c.key, s.c.title, s.c.kind, s.c.unit, s.c.frequency, s.c.sector,
               sec.c.name.label("sector_name"), s.c.technology, tech.c.name.label("technology_name"),
               s.c.source, s.c.source_url, s.c.caveat, s.c.description, s.c.origin, s.c.publisher,
               obs.c.n_obs, obs.c.first_date, obs.c.last_date, obs.c.period_min, obs.c.period_max)
        .join(sec, sec.c.code == s.c.sector)
        .join(tech, tech.c.code == s.c.technology)
        .outerjoin(obs, obs.c.series_key == s.c.key)
        .order_by(s.c.kind.desc(), sec.c.name, tech.c.name, s.c.title)
    )
    frame = _frame(db_url, statement)
    frame["n_obs"] = frame["n_obs"].fillna(0).astype(int)
    # the period type all of a series' observations share (a TOP500 list), else None: the frequency's
    low, high = frame.pop("period_min"), frame.pop("period_max")
    frame["period_type"] = low.where(low == high)
    return frame


@st.cache_data(show_spinner=False, max_entries=CACHE_ENTRIES)
def observations(db_url: str, series_key: str, key: Stamp) -> pd.DataFrame:
    """One series' observations with the snapshot each number came from."""
    o, snap = t.observations, t.snapshots
    statement = (
        select(o.c.date, o.c.value, o.c.period_type, o.c.source_url, o.c.note, o.c.kind, o.c.value_high,
               o.c.quote, o.c.reliability,
               snap.c.source.label("snapshot_source"), snap.c.url.label("snapshot_url"),
               snap.c.fetched_at.label("snapshot_fetched_at"), snap.c.sha256.label("snapshot_sha256"))
        .outerjoin(snap, snap.c.id == o.c.snapshot_id)
        .where(o.c.series_key == series_key)
        .order_by(o.c.date)
    )
    frame = _frame(db_url, statement)
    frame["date"] = pd.to_datetime(frame["date"])
    return frame


def observation_sources(obs: pd.DataFrame, period: str | None = None) -> pd.DataFrame:
    """Where a series' numbers come from: one row per link and snapshot, the first and last
    period each covers written as periods (2021, 2021-Q3, 2021-07)."""
    if obs.empty:
        return pd.DataFrame(columns=["link", "snapshot", "fetched", "sha256", "observations", "from", "to"])
    frame = obs.assign(
        link=obs["source_url"].fillna(obs["snapshot_url"]),
        fetched=pd.to_datetime(obs["snapshot_fetched_at"]).dt.strftime("%Y-%m-%d"),
        sha256=obs["snapshot_sha256"].fillna("").str[:12],
    )
    grouped = frame.groupby(["link", "snapshot_source", "fetched", "sha256"], dropna=False).agg(
        observations=("value", "size"), first=("date", "min"), last=("date", "max")
    ).reset_index().rename(columns={"snapshot_source": "snapshot", "first": "from", "last": "to"})
    grouped = grouped.sort_values("from").reset_index(drop=True)
    own = period or (obs["period_type"].mode().iloc[0] if obs["period_type"].notna().any() else None)
    grouped["from"] = periods.texts(grouped["from"], own)
    grouped["to"] = periods.texts(grouped["to"], own)
    return grouped


@st.cache_data(show_spinner=False, max_entries=CACHE_ENTRIES)
def policies(db_url: str, key: Stamp) -> pd.DataFrame:
    """Curated policies and feed items, with their targets summarised in one text column."""
    p, tg = t.policies, t.targets
    frame = _frame(db_url, select(
        p.c.id, p.c.date, p.c.date_precision, p.c.deadline, p.c.title, p.c.issuer, p.c.sectors,
        p.c.technologies, p.c.url, p.c.source, p.c.summary, p.c.review_status, p.c.claim, p.c.feed,
        p.c.added_at,
    ).order_by(p.c.date, p.c.id))
    targets = _frame(db_url, select(tg.c.policy_id, tg.c.threshold, tg.c.deadline, tg.c.sector,
                                    tg.c.technology))
    summary = (
        targets.assign(text=lambda f: f["sector"] + "/" + f["technology"] + " "
                       # to_numeric: a store with no targets gives an empty object column
                       + (pd.to_numeric(f["threshold"]) * 100).round().astype(int).astype(str) + "% by "
                       + pd.to_datetime(f["deadline"]).dt.strftime("%Y-%m-%d"))
        .groupby("policy_id")["text"].apply(lambda s: "; ".join(sorted(set(s))))
    )
    frame["targets"] = frame["id"].map(summary).fillna("")
    frame["date"] = pd.to_datetime(frame["date"])
    frame["link"] = frame["url"].where(frame["url"].notna() & (frame["url"] != ""),
                                       frame["source"].str.extract(r"(https?://\S+)", expand=False))
    return frame


@st.cache_data(show_spinner=False, max_entries=CACHE_ENTRIES)
def codes(db_url: str, key: Stamp) -> tuple[dict[str, str], dict[str, str]]:
    """Sector and technology code -> name."""
    sectors = _frame(db_url, select(t.sectors.c.code, t.sectors.c.name).order_by(t.sectors.c.name))
    techs = _frame(db_url, select(t.technologies.c.code, t.technologies.c.name)
                   .order_by(t.technologies.c.name))
    return dict(zip(sectors["code"], sectors["name"])), dict(zip(techs["code"], techs["name"]))


# --- runs -------------------------------------------------------------------------------

@st.cache_data(show_spinner=False, max_entries=CACHE_ENTRIES)
def runs(db_url: str, key: Stamp) -> pd.DataFrame:
    """Forecast run history, newest first, with per-series outcome counts."""
    r, rs = t.forecast_runs, t.run_series
    counts = (
        select(rs.c.run_id,
               func.sum(case((rs.c.status == "ok", 1), else_=0)).label("series_ok"),
               func.sum(case((rs.c.status == "insufficient_data", 1), else_=0)).label("series_insufficient"),
               func.sum(case((rs.c.status == "failed", 1), else_=0)).label("series_failed"))
        .group_by(rs.c.run_id).subquery()
    )
    frame = _frame(db_url, select(
        r.c.id, r.c.status, r.c.started_at, r.c.finished_at, r.c.trigger, r.c.code_version,
        r.c.seed, r.c.input_hash, r.c.error, counts.c.series_ok, counts.c.series_insufficient,
        counts.c.series_failed, r.c.series_refitted, r.c.series_carried, r.c.series_choice_reused,
        r.c.series_posterior_updated,
    ).outerjoin(counts, counts.c.run_id == r.c.id).order_by(r.c.id.desc()))
    for column in ("series_ok", "series_insufficient", "series_failed"):
        frame[column] = frame[column].fillna(0).astype(int)
    frame["seconds"] = (pd.to_datetime(frame["finished_at"]) - pd.to_datetime(frame["started_at"])
                        ).dt.total_seconds().round(1)
    return frame


@st.cache_data(show_spinner=False, max_entries=CACHE_ENTRIES)
def run_diff(db_url: str, run_id: int, previous_id: int) -> pd.DataFrame:
    """Targets whose status or projected date moved between two runs."""
    ta = t.target_assessments
    cols = [ta.c.target_id, ta.c.status, ta.c.projected_date, ta.c.probability_by_deadline]
    new = _frame(db_url, select(*cols).where(ta.c.run_id == run_id))
    old = _frame(db_url, select(*cols).where(ta.c.run_id == previous_id))
    both = new.merge(old, on="target_id", how="outer", suffixes=("", "_before"))
    moved = both[
        (both["status"].fillna("") != both["status_before"].fillna(""))
        | (both["projected_date"].astype(str) != both["projected_date_before"].astype(str))
    ]
    return moved[["target_id", "status_before", "status", "projected_date_before", "projected_date",
                  "probability_by_deadline_before", "probability_by_deadline"]].sort_values("target_id")


# --- pulls, jobs and freshness -------------------------------------------------------

def _snapshot_summary(db_url: str, pulled: bool) -> pd.DataFrame:
    """Per source: newest snapshot, newest observation (and its period type), observations,
    counting only snapshots a pull stored (`pulled`) or only the others: files loaded by
    `domshare init` (and `domshare import`)."""
    snap, o = t.snapshots, t.observations
    origin = snap.c.id.in_(select(t.pulls.c.snapshot_id).where(t.pulls.c.snapshot_id.is_not(None)))
    origin = origin if pulled else ~origin
    frame = _frame(db_url, select(
        snap.c.source, func.max(snap.c.fetched_at).label("last_snapshot"),
        func.count(func.distinct(snap.c.id)).label("files"),
        func.max(o.c.date).label("newest_observation"), func.count(o.c.id).label("observations"),
    ).outerjoin(o, o.c.snapshot_id == snap.c.id).where(origin).group_by(snap.c.source))
    # The period type of each source's newest observation, so 2024-01-01 of a year reads "2024".
    types = _frame(db_url, select(snap.c.source, o.c.period_type, func.max(o.c.date).label("date"))
                   .join(o, o.c.snapshot_id == snap.c.id).where(origin)
                   .group_by(snap.c.source, o.c.period_type))
    newest = types.sort_values("date").drop_duplicates("source", keep="last").set_index("source")["period_type"]
    # The bundled-inputs snapshot only records the sha256 of the bundled tables and loader
    # code (so a changed table is noticed); it is bookkeeping, not a source a viewer reads.
    frame = frame[frame["source"] != INPUTS_SOURCE].copy()
    frame["newest_period"] = frame["source"].map(newest)
    return frame


@st.cache_data(show_spinner=False, max_entries=CACHE_ENTRIES)
def file_sources(db_url: str, key: Stamp) -> pd.DataFrame:
    """Sources loaded from files, not pulled: the bundled files of `domshare init` and the
    files of `domshare import` (files, observations, newest observation, when loaded)."""
    return _snapshot_summary(db_url, pulled=False).sort_values("source").reset_index(drop=True)


@st.cache_data(show_spinner=False, max_entries=CACHE_ENTRIES)
def source_freshness(db_url: str, key: Stamp) -> pd.DataFrame:
    """Per pulled or scheduled source: newest snapshot, newest observation, the last pull with
    its outcome and the next scheduled run. Files loaded by hand are `file_sources`."""
    p = t.pulls
    last_ids = select(p.c.source, func.max(p.c.id).label("id")).group_by(p.c.source).subquery()
    pulls = _frame(db_url, select(
        p.c.source, p.c.started_at.label("last_pull"), p.c.status.label("last_outcome"),
        p.c.rows_added, p.c.rows_changed, p.c.error_kind, p.c.error,
    ).join(last_ids, and_(last_ids.c.id == p.c.id)))
    ok = _frame(db_url, select(p.c.source, func.max(p.c.finished_at).label("last_success"))
                .where(p.c.status.in_(["ok", "unchanged"])).group_by(p.c.source))
    frame = _snapshot_summary(db_url, pulled=True).merge(pulls, on="source", how="outer") \
        .merge(ok, on="source", how="left")
    schedule = scheduled_jobs(db_url, key)
    # Sources the scheduler will pull but that have no snapshot or pull yet.
    scheduled = schedule["job"][schedule["job"].str.startswith(PULL_JOB_PREFIX)].str.removeprefix(PULL_JOB_PREFIX)
    missing = sorted(set(scheduled) - set(frame["source"]))
    if missing:
        frame = pd.concat([frame, pd.DataFrame({"source": missing, "observations": 0})], ignore_index=True)
    frame["next_run"] = frame["source"].map(lambda s: _next_run_for(schedule, s))
    return frame.sort_values("source").reset_index(drop=True)


def _next_run_for(schedule: pd.DataFrame, source: str):
    if schedule.empty or not isinstance(source, str):
        return None
    matching = schedule[schedule["job"] == PULL_JOB_PREFIX + source]
    return matching["next_run"].min() if not matching.empty else None


@st.cache_data(show_spinner=False, max_entries=CACHE_ENTRIES)
def scheduled_jobs(db_url: str, key: Stamp) -> pd.DataFrame:
    """APScheduler's persisted jobs (id, next run), read as plain rows: no apscheduler import."""
    eng = engine(db_url)
    if APSCHEDULER_TABLE not in inspect(eng).get_table_names():
        return pd.DataFrame(columns=["job", "next_run"])
    from sqlalchemy import column, table

    jobs = table(APSCHEDULER_TABLE, column("id"), column("next_run_time"))
    frame = _frame(db_url, select(jobs.c.id.label("job"), jobs.c.next_run_time.label("next_run"))
                   .order_by(jobs.c.next_run_time))
    # APScheduler stores next_run_time as a UTC epoch float; NULL means paused.
    frame["next_run"] = pd.to_datetime(frame["next_run"], unit="s", utc=True)
    return frame


@st.cache_data(show_spinner=False, max_entries=CACHE_ENTRIES)
def job_runs(db_url: str, key: Stamp, limit: int = 200) -> pd.DataFrame:
    j = t.job_runs
    return _frame(db_url, select(j.c.job, j.c.started_at, j.c.finished_at, j.c.outcome, j.c.error,
                                 j.c.scheduler).order_by(j.c.id.desc()).limit(limit))


# --- the export's frames and the shared run reads: screen and files show the same numbers ---

@st.cache_data(show_spinner=False, max_entries=CACHE_ENTRIES)
def export_rows(db_url: str, key: Stamp, series_keys: tuple[str, ...] | None) -> dict[str, int]:
    """{file name: rows} of `domshare export` for run `key.run_id` (observations.csv and
    evidence.csv alone before the first run), of these series or whole: counted, not read."""
    return export.row_counts(engine(db_url), key.run_id, series_keys)


# A whole export's files can be tens of MB at thousands of series: keep only a few scopes.
@st.cache_data(show_spinner=False, max_entries=4)
def export_files(db_url: str, key: Stamp, series_keys: tuple[str, ...] | None) -> dict[str, bytes]:
    """The CSV bytes of `domshare export` for run `key.run_id`, of these series (only their
    rows are read) or whole; built when a download is first asked for."""
    frames = export.export_frames(engine(db_url), run_id=key.run_id, series_keys=series_keys)
    return {name: csv_bytes(frame) for name, frame in frames.items()}


@st.cache_data(show_spinner=False, max_entries=CACHE_ENTRIES)
def series_run(db_url: str, series_key: str, run_id: int | None) -> dict[str, pd.DataFrame]:
    """One series' rows of run `run_id` (read.run_frames' frames; forecasts, crossings and
    targets rounded as the export rounds them: the same numbers as its CSVs), for the series
    page and the evidence card, whose cost does not grow with the number of series. Empty
    frames before the first run."""
    with engine(db_url).connect() as conn:
        frames = read.run_frames(conn, run_id if run_id is not None else -1, series_key)
    return {name: export.rounded(frame) if name in ("forecasts", "crossings", "targets") else frame
            for name, frame in frames.items()}


@st.cache_data(show_spinner=False, max_entries=CACHE_ENTRIES)
def run_outcomes(db_url: str, run_id: int) -> pd.DataFrame:
    """Each series' outcome in run `run_id` (run_series), without the run's forecasts."""
    with engine(db_url).connect() as conn:
        return read.run_series_frame(conn, run_id)


@st.cache_data(show_spinner=False, max_entries=CACHE_ENTRIES)
def run_crossings(db_url: str, run_id: int) -> pd.DataFrame:
    """Run `run_id`'s crossings as crossings.csv has them, without the run's forecasts."""
    with engine(db_url).connect() as conn:
        return export.rounded(read.crossings_frame(conn, run_id))


@st.cache_data(show_spinner=False, max_entries=CACHE_ENTRIES)
def targets(db_url: str, key: Stamp) -> pd.DataFrame:
    """Every target with the latest run's assessment (targets.csv's numbers) and its evidence
    (jobs.evidence.targets_with_evidence); a target the run did not assess (added after it, or
    before any run) has no probability and no status."""
    with engine(db_url).connect() as conn:
        cards = read.target_evidence(conn)  # and the observations of the measuring series only
        observations = read.observation_evidence(conn, sorted(set(cards[SERIES].dropna())))
        # Targets added after the run (or before any) are listed too, unassessed.
        unassessed = read.targets_frame(conn).assign(
            probability_by_deadline=float("nan"), projected_date=None, status=None, basis=None,
            evidence_date=None)
        assessed, run_series = unassessed.iloc[0:0], None
        if key.run_id is not None:  # the run's assessments and outcomes, not its forecasts
            assessed, run_series = read.assessments_frame(conn, key.run_id), read.run_series_frame(conn, key.run_id)
        assessed = pd.concat([assessed, unassessed[~unassessed[TARGET_ID].isin(assessed[TARGET_ID])]],
                             ignore_index=True)
    return export.rounded(evidence.targets_with_evidence(assessed, cards, run_series, observations))


@st.cache_data(show_spinner=False, max_entries=CACHE_ENTRIES)
def evidence_observations(db_url: str, key: Stamp) -> pd.DataFrame:
    """Every observation with its kind, quote, link, reliability and publisher."""
    with engine(db_url).connect() as conn:
        frame = read.observation_evidence(conn)
    frame["date"] = pd.to_datetime(frame["date"])
    return frame


def csv_bytes(frame: pd.DataFrame) -> bytes:
    return export.csv_text(frame).encode("utf-8")


# --- forecast history, alerts and target proposals (issue 12) -------------------------------

@st.cache_data(show_spinner=False, max_entries=CACHE_ENTRIES)
def complete_runs(db_url: str, run_id: int | None) -> pd.DataFrame:
    """Complete runs up to the latest (`run_id`, the cache key), oldest first."""
    with engine(db_url).connect() as conn:
        return read.complete_runs(conn, up_to=run_id)


@st.cache_data(show_spinner=False, max_entries=CACHE_ENTRIES)
def target_history(db_url: str, target_id: str, run_id: int | None) -> pd.DataFrame:
    """A target's history up to run `run_id` (complete runs never change: a safe cache key)."""
    with engine(db_url).connect() as conn:
        return read.target_history(conn, target_id, up_to=run_id)


@st.cache_data(show_spinner=False, max_entries=CACHE_ENTRIES)
def target_changes(db_url: str, run_id: int) -> pd.DataFrame:
    with engine(db_url).connect() as conn:
        return read.target_changes(conn, run_id)


def alerts(db_url: str) -> pd.DataFrame:
    """Not cached: alerts and deliveries land just after a run completes (same stamp)."""
    with engine(db_url).connect() as conn:
        return read.alerts_frame(conn, limit=500)


def webhook_deliveries(db_url: str) -> pd.DataFrame:
    with engine(db_url).connect() as conn:
        return read.webhook_deliveries_frame(conn)


def target_proposals(db_url: str) -> pd.DataFrame:
    """Not cached: `domshare targets review` changes them without a new run or policy."""
    with engine(db_url).connect() as conn:
        return read.target_proposals_frame(conn, "unreviewed")
