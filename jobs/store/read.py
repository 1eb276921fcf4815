"""Shared read functions: the CSV export and the UI both read through these, so a number
on screen and in a file are the same number. Only complete runs are ever "latest"."""
from __future__ import annotations

import contextlib
import json

import pandas as pd
from sqlalchemy import Connection, Engine, func, or_, select

from forecast.frames import (
    BOUND_LOWER, BOUND_UPPER, BOUNDS_COLUMNS, CDF_COLUMNS, CROSSINGS_EXPORT_COLUMNS, DATE, DEADLINE, DS, FIT_KINDS, FORECASTS_EXPORT_COLUMNS, MEASURE,
    HISTORY_EXPORT_COLUMNS, PROBABILITY_BY_DEADLINE, ALERTS_EXPORT_COLUMNS,
    OBSERVATIONS_EXPORT_COLUMNS, RUN_ID, SERIES, TARGET_ID, TARGET_INPUT_COLUMNS,
    TARGETS_EXPORT_COLUMNS, THRESHOLD, Y, validate_history,
)
from jobs.periods import period_label
from jobs.store import schema

DOMESTIC_SHARE = "domestic_share"


def _frame(conn: Connection, query) -> pd.DataFrame:
    result = conn.execute(query)
    return pd.DataFrame(result.all(), columns=list(result.keys()))  # rows as tuples: twice as fast as mappings


def of_series(query, column, series_keys):
    """`query` limited to the rows whose `column` is one of `series_keys`: one key, several,
    or None for every series (so a page or a file about a few series reads only theirs)."""
    if series_keys is None:
        return query
    return query.where(column.in_([series_keys] if isinstance(series_keys, str) else list(series_keys)))


def latest_run(conn: Connection) -> dict | None:
    """The newest run with status 'complete' (a running or killed run is never shown)."""
    runs = schema.forecast_runs
    row = conn.execute(
        select(runs).where(runs.c.status == "complete").order_by(runs.c.id.desc()).limit(1)
    ).mappings().first()
    return dict(row) if row else None


def get_run(conn: Connection, run_id: int) -> dict | None:
    row = conn.execute(
        select(schema.forecast_runs).where(schema.forecast_runs.c.id == run_id)
    ).mappings().first()
    return dict(row) if row else None


def series_catalogue(conn: Connection) -> pd.DataFrame:
    return _frame(conn, select(schema.series).order_by(schema.series.c.key))


def history_frame(conn: Connection, series_keys=None, validate: bool = True) -> pd.DataFrame:
    """Domestic-share observations a forecast fits on (kinds FIT_KINDS), as the
    forecast.frames history contract (series, ds, y).

    `validate=False` returns the rows as stored (refresh validates each series on its own,
    so one bad series fails alone)."""
    obs = schema.observations
    frame = _domestic_observations(conn, series_keys, obs.c.kind.in_(FIT_KINDS), obs.c.value.label(Y))
    return validate_history(frame) if validate else frame


def domestic_series(conn: Connection) -> dict[str, str | None]:
    """The domestic-share series (those a refresh forecasts), in key order: key -> declared frequency."""
    series = schema.series
    return dict(conn.execute(select(series.c.key, series.c.frequency).where(series.c.kind == DOMESTIC_SHARE)
                             .order_by(series.c.key)).all())


def last_observation_date(conn: Connection):
    """The date of the newest observation any forecast fits on (FIT_KINDS), or None."""
    obs, series = schema.observations, schema.series
    return conn.execute(select(func.max(obs.c.date)).join(series, series.c.key == obs.c.series_key)
                        .where(series.c.kind == DOMESTIC_SHARE, obs.c.kind.in_(FIT_KINDS))).scalar()


def _domestic_observations(conn: Connection, series_keys, condition, *columns) -> pd.DataFrame:
    obs, series = schema.observations, schema.series
    query = (
        select(obs.c.series_key.label(SERIES), obs.c.date.label(DS), *columns)
        .join(series, series.c.key == obs.c.series_key)
        .where(series.c.kind == DOMESTIC_SHARE, condition)
        .order_by(obs.c.series_key, obs.c.date)
    )
    if series_keys:
        query = query.where(obs.c.series_key.in_(list(series_keys)))
    return _frame(conn, query)


def bounds_frame(conn: Connection, series_keys=None) -> pd.DataFrame:
    """Bound and range observations of domestic-share series: series + BOUNDS_COLUMNS (a
    lower bound fills `lower`, an upper bound `upper`, a range both)."""
    obs = schema.observations
    frame = _domestic_observations(conn, series_keys, obs.c.kind.not_in(FIT_KINDS),
                                   obs.c.kind, obs.c.value, obs.c.value_high)
    value = frame["value"].astype(float)
    frame[BOUND_LOWER] = value.where(frame["kind"].isin(["lower_bound", "range"]))
    frame[BOUND_UPPER] = value.where(frame["kind"] == "upper_bound").fillna(
        frame["value_high"].astype(float).where(frame["kind"] == "range"))
    frame[DS] = pd.to_datetime(frame[DS])
    return frame[[SERIES, *BOUNDS_COLUMNS]]


POLICY_CHANGEPOINT_REVIEWS = ("curated", "user")  # feed items not yet reviewed are never offered


def policy_dates(conn: Connection) -> dict[str, dict]:
    """Per series, {policy id: date} of the reviewed policies of its sector and technology
    (a policy's `all` matches every sector or technology), offered to Prophet as candidate
    changepoints."""
    pol = schema.policies
    policies = conn.execute(select(pol.c.id, pol.c.date, pol.c.sectors, pol.c.technologies).where(
        pol.c.review_status.in_(POLICY_CHANGEPOINT_REVIEWS), pol.c.date.is_not(None))).all()
    out: dict[str, dict] = {}
    for key, sector, technology in conn.execute(select(schema.series.c.key, schema.series.c.sector,
                                                       schema.series.c.technology)).all():
        chosen = {pid: date for pid, date, sectors, technologies in policies
                  if {sector, "all"} & set(schema.split_codes(sectors))
                  and {technology, "all"} & set(schema.split_codes(technologies))}
        if chosen:
            out[key] = chosen
    return out


def targets_frame(conn: Connection) -> pd.DataFrame:
    """Targets with their policy and measuring series (TARGET_INPUT_COLUMNS first)."""
    t, p = schema.targets, schema.policies
    query = (
        select(t.c.id.label(TARGET_ID), t.c.series_key.label(SERIES), t.c.threshold.label(THRESHOLD),
               t.c.deadline.label(DEADLINE), t.c.measure.label(MEASURE),
               t.c.policy_id, p.c.title.label("policy_title"), t.c.sector, t.c.technology)
        .join(p, p.c.id == t.c.policy_id)
        .order_by(t.c.id)
    )
    frame = _frame(conn, query)
    return frame[TARGET_INPUT_COLUMNS + ["policy_id", "policy_title", "sector", "technology"]]


def target_evidence(conn: Connection) -> pd.DataFrame:
    """Every target with the policy's own words and how it was read: title, issuer, date,
    link, claim; threshold and deadline with their encoding; the measure and why (a proxy's
    bias), or the missing evidence and the related context series (for evidence cards)."""
    t, p, s = schema.targets, schema.policies, schema.series
    query = (
        select(t.c.id.label(TARGET_ID), t.c.policy_id, p.c.title.label("policy_title"), p.c.issuer,
               p.c.date.label("policy_date"), p.c.date_precision, p.c.url.label("policy_url"), p.c.claim,
               p.c.review_status, t.c.sector, t.c.technology, t.c.threshold, t.c.deadline, t.c.encoding,
               t.c.series_key.label(SERIES), t.c.measure, t.c.measure_reason, t.c.bias, t.c.missing_evidence,
               t.c.related_series, t.c.origin, t.c.note,
               # for the card: the policy's notes, and the measuring series' name, period and caveat
               p.c.summary.label("policy_summary"), s.c.title.label("series_title"),
               s.c.frequency.label("series_frequency"), s.c.caveat.label("series_caveat"))
        .join(p, p.c.id == t.c.policy_id)
        .outerjoin(s, s.c.key == t.c.series_key)
        .order_by(t.c.id)
    )
    return _frame(conn, query)


def observations_export_frame(conn: Connection, series_keys=None) -> pd.DataFrame:
    obs, series, snap = schema.observations, schema.series, schema.snapshots
    query = (
        select(obs.c.series_key.label(SERIES), series.c.sector, series.c.technology,
               obs.c.date.label(DATE), obs.c.value, series.c.source,
               snap.c.sha256.label("snapshot_sha256"))
        .join(series, series.c.key == obs.c.series_key)
        .outerjoin(snap, snap.c.id == obs.c.snapshot_id)
        .order_by(obs.c.series_key, obs.c.date)
    )
    return _frame(conn, of_series(query, obs.c.series_key, series_keys))[OBSERVATIONS_EXPORT_COLUMNS]


def observation_counts(conn: Connection, series_keys=None) -> dict[str, int]:
    """Observations per series (of `series_keys`), as observations.csv holds them."""
    obs, series = schema.observations, schema.series
    query = (select(obs.c.series_key, func.count()).join(series, series.c.key == obs.c.series_key)
             .group_by(obs.c.series_key))
    return dict(conn.execute(of_series(query, obs.c.series_key, series_keys)).all())


def observation_evidence(conn: Connection, series_keys=None) -> pd.DataFrame:
    """Every observation with what it means and where it comes from: kind, range end, the
    source's quote, link, reliability, note, the series' publisher and the snapshot's sha256
    (for series pages, evidence cards and exports; bounds included, as stored)."""
    obs, series, snap = schema.observations, schema.series, schema.snapshots
    query = (
        select(obs.c.series_key.label(SERIES), obs.c.date.label(DATE), obs.c.period_type, obs.c.value,
               obs.c.value_high, obs.c.kind, obs.c.quote, obs.c.source_url, obs.c.reliability, obs.c.note,
               series.c.publisher, series.c.source, series.c.frequency, snap.c.sha256.label("snapshot_sha256"))
        .join(series, series.c.key == obs.c.series_key)
        .outerjoin(snap, snap.c.id == obs.c.snapshot_id)
        .order_by(obs.c.series_key, obs.c.date)
    )
    frame = _frame(conn, of_series(query, obs.c.series_key, series_keys))
    frame.insert(2, "period", [period_label(d, t, f) for d, t, f in
                               zip(frame[DATE], frame["period_type"], frame["frequency"])])
    return frame


def _held(table):
    """`table` (forecasts, crossings, crossing_cdf, backtest_scores) joined to the run_series
    rows whose results it holds: a carried-over series' rows stay with the run that fitted it
    (run_series.results_run_id), and backtest scores with the run that made the model choice
    (run_series.choice_run_id: an earlier one when the choice was reused), so select
    run_series.run_id as the run and filter on it."""
    rs = schema.run_series
    held_by = rs.c.choice_run_id if table is schema.backtest_scores else rs.c.results_run_id
    return table.join(rs, (held_by == table.c.run_id) & (rs.c.series_key == table.c.series_key))


def _held_columns(table) -> list:
    """`table`'s columns, its run_id being the run that shows the rows (see _held)."""
    return [schema.run_series.c.run_id if c.name == "run_id" else c for c in table.c]


def run_frames(conn: Connection, run_id: int, series_keys=None) -> dict[str, pd.DataFrame]:
    """forecasts / crossings / targets (export columns) plus backtest and run_series, of the
    whole run or of some series (one key or several: the series page reads just its own rows)."""
    f, b, rs = schema.forecasts, schema.backtest_scores, schema.run_series

    def of(table, query):
        return of_series(query.select_from(_held(table)).where(rs.c.run_id == run_id), rs.c.series_key, series_keys)

    forecasts = _frame(conn, of(f, select(
        rs.c.run_id, f.c.series_key.label(SERIES), f.c.date.label(DATE), f.c.yhat, f.c.lower_80,
        f.c.upper_80, f.c.lower_95, f.c.upper_95, f.c.model,
    ).order_by(f.c.series_key, f.c.date)))
    return {
        "forecasts": forecasts[FORECASTS_EXPORT_COLUMNS],
        "crossings": crossings_frame(conn, run_id, series_keys),
        "targets": assessments_frame(conn, run_id, series_keys),
        "backtest": _frame(conn, of(b, select(*_held_columns(b)).order_by(b.c.series_key, b.c.model))),
        "run_series": run_series_frame(conn, run_id, series_keys),
    }


def run_row_counts(conn: Connection, run_id: int, series_keys=None) -> dict[str, int]:
    """The rows run_frames' forecasts / crossings / targets, target_history(up_to=run_id) and
    alerts_frame(up_to=run_id) hold (of `series_keys`), counted by the database: the UI labels
    its downloads with them and reads the rows only when a file is asked for."""
    rs, a, t, p, r, al = (schema.run_series, schema.target_assessments, schema.targets, schema.policies,
                          schema.forecast_runs, schema.alerts)

    def count(query, column) -> int:
        return conn.execute(of_series(query, column, series_keys)).scalar() or 0
    rows = {name: count(select(func.count()).select_from(_held(table)).where(rs.c.run_id == run_id), rs.c.series_key)
            for name, table in (("forecasts", schema.forecasts), ("crossings", schema.crossings))}
    assessed = a.join(t, t.c.id == a.c.target_id)
    rows["targets"] = count(select(func.count()).select_from(assessed.join(p, p.c.id == t.c.policy_id))
                            .where(a.c.run_id == run_id), a.c.series_key)
    rows["history"] = count(select(func.count()).select_from(
        assessed.join(r, (r.c.id == a.c.run_id) & (r.c.status == "complete"))).where(a.c.run_id <= run_id),
        a.c.series_key)
    rows["alerts"] = count(select(func.count()).select_from(al).where(al.c.run_id <= run_id), al.c.series_key)
    return rows


def assessments_frame(conn: Connection, run_id: int, series_keys=None) -> pd.DataFrame:
    """Run `run_id`'s target assessments with their policy (targets.csv's run columns), or
    those of some measuring series."""
    a, t, p = schema.target_assessments, schema.targets, schema.policies
    query = select(
        a.c.run_id, a.c.target_id, t.c.policy_id, p.c.title.label("policy_title"), t.c.sector,
        t.c.technology, a.c.series_key.label(SERIES), a.c.measure, t.c.threshold, t.c.deadline,
        a.c.probability_by_deadline, a.c.projected_date, a.c.status, a.c.basis, a.c.evidence_date,
    ).join(t, t.c.id == a.c.target_id).join(p, p.c.id == t.c.policy_id).where(a.c.run_id == run_id)
    return _frame(conn, of_series(query, a.c.series_key, series_keys).order_by(a.c.target_id))[TARGETS_EXPORT_COLUMNS]


def run_series_frame(conn: Connection, run_id: int, series_keys=None) -> pd.DataFrame:
    """Each series' outcome in run `run_id` (status, model, skill, n_obs, ...), or some series'."""
    rs = schema.run_series
    return _frame(conn, of_series(select(rs).where(rs.c.run_id == run_id).order_by(rs.c.series_key),
                                  rs.c.series_key, series_keys))


def reused_choice(run_series_row: dict) -> str | None:
    """'choice made in run N on data to YYYY-MM, reused' when this run_series row's fit
    reused an earlier run's stored model choice (whose backtest scores it shows), else None."""
    made_in, choice = run_series_row.get("choice_run_id"), run_series_row.get("choice")
    if not isinstance(choice, str) or pd.isna(made_in) or int(made_in) == run_series_row.get("results_run_id"):
        return None
    return f"choice made in run {int(made_in)} on data to {(json.loads(choice).get('last_obs_date') or '')[:7]}, reused"


def series_states(conn: Connection, run_id: int, series_keys) -> pd.DataFrame:
    """Per series of run `run_id` among `series_keys`: its status, input hash and stored model
    choice (JSON) with the run that made it (what an incremental refresh compares against)."""
    rs = schema.run_series
    return _frame(conn, select(rs.c.series_key.label(SERIES), rs.c.status, rs.c.input_hash, rs.c.choice,
                               rs.c.choice_run_id)
                  .where(rs.c.run_id == run_id, rs.c.series_key.in_(list(series_keys))).order_by(rs.c.series_key))


def stored_posteriors(conn: Connection, since: dict[str, int]) -> dict[str, dict[str, bytes]]:
    """{series: {model: posterior bytes}}: for each series the newest stored posterior of each
    model written at or after run `since[series]` (the run that made the series' model choice:
    an older posterior belongs to another choice)."""
    p = schema.posteriors
    if not since:
        return {}
    newest = conn.execute(select(p.c.series_key, p.c.model, func.max(p.c.run_id))
                          .where(p.c.series_key.in_(list(since))).group_by(p.c.series_key, p.c.model)).all()
    wanted = [(key, model, run) for key, model, run in newest if run >= since[key]]
    found: dict[str, dict[str, bytes]] = {}
    for key, model, run in wanted:  # one row each: blobs of superseded fits are never read
        blob = conn.execute(select(p.c.posterior).where(p.c.run_id == run, p.c.series_key == key,
                                                        p.c.model == model)).scalar_one()
        found.setdefault(key, {})[model] = bytes(blob)
    return found


def crossing_cdf(conn: Connection, run_id: int, series_keys, thresholds=None) -> pd.DataFrame:
    """The stored crossing-date CDFs (forecast.frames.CDF_COLUMNS) of these series in run
    `run_id`, of every threshold or only of `thresholds` (to 1e-9, as forecast.crossings matches them)."""
    c, rs = schema.crossing_cdf, schema.run_series
    query = (select(c.c.series_key.label(SERIES), c.c.threshold, c.c.date.label(DS), c.c.cdf, c.c.p_above)
             .select_from(_held(c)).where(rs.c.run_id == run_id, rs.c.series_key.in_(list(series_keys)))
             .order_by(c.c.series_key, c.c.threshold, c.c.date))
    if thresholds is not None:
        query = query.where(or_(*(c.c.threshold.between(float(t) - 1e-9, float(t) + 1e-9) for t in set(thresholds))))
    return _frame(conn, query)[CDF_COLUMNS]


def crossings_frame(conn: Connection, run_id: int, series_keys=None) -> pd.DataFrame:
    """Run `run_id`'s crossings (export columns), of some series or all."""
    c, rs = schema.crossings, schema.run_series
    query = select(rs.c.run_id, c.c.series_key.label(SERIES), c.c.threshold, c.c.status, c.c.observed_date,
                   c.c.median_date, c.c.p10_date, c.c.p90_date, c.c.probability_by_horizon,
                   c.c.latest_above, c.c.probability_by_2027, c.c.probability_by_2030,
                   ).select_from(_held(c)).where(rs.c.run_id == run_id).order_by(c.c.series_key, c.c.threshold)
    return _frame(conn, of_series(query, rs.c.series_key, series_keys))[CROSSINGS_EXPORT_COLUMNS]


def target_proposals_frame(conn: Connection, status: str | None = "unreviewed") -> pd.DataFrame:
    """Targets proposed from feed items (`status` None: all), with the item's title, date and link."""
    tp, p = schema.target_proposals, schema.policies
    query = (
        select(tp.c.id, tp.c.status, tp.c.threshold, tp.c.deadline, tp.c.sector, tp.c.technology,
               tp.c.sentence, tp.c.pattern, tp.c.policy_id, p.c.title.label("policy_title"),
               p.c.date.label("policy_date"), p.c.url.label("policy_url"), tp.c.target_id,
               tp.c.found_at, tp.c.reviewed_at)
        .join(p, p.c.id == tp.c.policy_id)
        .order_by(tp.c.id)
    )
    if status is not None:
        query = query.where(tp.c.status == status)
    return _frame(conn, query)


def complete_runs(conn: Connection, up_to: int | None = None) -> pd.DataFrame:
    """Complete runs, oldest first (id, finished_at, input_hash), at most run `up_to`."""
    r = schema.forecast_runs
    query = select(r.c.id, r.c.finished_at, r.c.input_hash).where(r.c.status == "complete").order_by(r.c.id)
    if up_to is not None:
        query = query.where(r.c.id <= up_to)
    return _frame(conn, query)


def _new_data(frame: pd.DataFrame, by: list[str]) -> pd.Series:
    """True where the series' observation count or last date differs from its previous run's
    (and on its first run): the runs where new data arrived."""
    seen = frame[["n_obs", "last_obs_date"]].astype(str).agg("|".join, axis=1)
    return seen.ne(seen.groupby([frame[c] for c in by]).shift()).astype(bool)


def target_history(conn: Connection, target_id: str | None = None, up_to: int | None = None) -> pd.DataFrame:
    """How each target's assessment stood after every complete run (HISTORY_EXPORT_COLUMNS),
    oldest run first: status, probability, projected crossing with its 10-90 % dates (the
    crossing of the target's threshold in that run), the run's input hash, and the
    observations its series had (`new_data`: they changed since the previous run)."""
    a, r, t, c, rs = (schema.target_assessments, schema.forecast_runs, schema.targets, schema.crossings,
                      schema.run_series)
    query = (
        select(a.c.run_id, r.c.finished_at.label("run_finished_at"), r.c.input_hash, a.c.target_id,
               a.c.series_key.label(SERIES), t.c.threshold, t.c.deadline, a.c.status, a.c.probability_by_deadline,
               a.c.projected_date, a.c.basis, a.c.evidence_date, rs.c.n_obs, rs.c.last_obs_date)
        .join(r, (r.c.id == a.c.run_id) & (r.c.status == "complete"))
        .join(t, t.c.id == a.c.target_id)
        .outerjoin(rs, (rs.c.run_id == a.c.run_id) & (rs.c.series_key == a.c.series_key))
        .order_by(a.c.target_id, a.c.run_id)
    )
    if target_id is not None:
        query = query.where(a.c.target_id == target_id)
    if up_to is not None:
        query = query.where(a.c.run_id <= up_to)
    frame = _frame(conn, query)
    measuring = sorted(set(frame[SERIES].dropna()))  # only their crossings: the cost follows the targets, not N
    held = (select(rs.c.run_id, c.c.series_key.label(SERIES), c.c.threshold, c.c.p10_date, c.c.p90_date)
            .select_from(_held(c)).join(r, (r.c.id == rs.c.run_id) & (r.c.status == "complete"))
            .where(rs.c.series_key.in_(measuring)))
    crossings = _frame(conn, held if up_to is None else held.where(rs.c.run_id <= up_to))
    for part in (frame, crossings):  # thresholds are the same floats; rounded so the join cannot miss
        part["_threshold"] = part[THRESHOLD].astype(float).round(9)
    frame = frame.merge(crossings.drop(columns=THRESHOLD), on=[RUN_ID, SERIES, "_threshold"], how="left")
    frame["new_data"] = _new_data(frame, [TARGET_ID]) if not frame.empty else pd.Series(dtype=bool)
    return frame[HISTORY_EXPORT_COLUMNS].reset_index(drop=True)


def crossing_history(conn: Connection, series_key: str, threshold: float | None = None) -> pd.DataFrame:
    """A series' crossings after every complete run (crossing columns plus run_finished_at,
    n_obs, last_obs_date, new_data), oldest run first."""
    c, r, rs = schema.crossings, schema.forecast_runs, schema.run_series
    query = (
        select(rs.c.run_id, r.c.finished_at.label("run_finished_at"), c.c.series_key.label(SERIES), c.c.threshold,
               c.c.status, c.c.observed_date, c.c.median_date, c.c.p10_date, c.c.p90_date,
               c.c.probability_by_horizon, c.c.probability_by_2027, c.c.probability_by_2030, rs.c.n_obs,
               rs.c.last_obs_date)
        .select_from(_held(c))
        .join(r, (r.c.id == rs.c.run_id) & (r.c.status == "complete"))
        .where(rs.c.series_key == series_key)
        .order_by(c.c.threshold, rs.c.run_id)
    )
    frame = _frame(conn, query)
    if threshold is not None:
        frame = frame[(frame[THRESHOLD].astype(float) - threshold).abs() < 1e-9]
    frame = frame.reset_index(drop=True)
    frame["new_data"] = _new_data(frame, [THRESHOLD]) if not frame.empty else pd.Series(dtype=bool)
    return frame


def target_changes(conn: Connection, run_id: int, days: int = 30) -> pd.DataFrame:
    """Per target of run `run_id`: its probability and status then, and how they moved since
    the previous complete run and since the last run finished at least `days` days earlier
    (probability_change / probability_change_30d in share units: 0.15 = 15 points; empty
    when the earlier run has no probability or there is no earlier run)."""
    history = target_history(conn, up_to=run_id)
    runs = complete_runs(conn, up_to=run_id)
    columns = [TARGET_ID, "status", "probability_by_deadline", "previous_run_id", "previous_status",
               "probability_change", "run_30d_id", "status_30d", "probability_change_30d"]
    if history.empty or run_id not in set(runs["id"]):
        return pd.DataFrame(columns=columns)
    finished = pd.to_datetime(runs["finished_at"], utc=True)
    now = finished[runs["id"] == run_id].iloc[0]
    earlier = runs[runs["id"] < run_id]
    previous = int(earlier["id"].iloc[-1]) if not earlier.empty else None
    old = runs[finished <= now - pd.Timedelta(days=days)]
    month = int(old["id"].iloc[-1]) if not old.empty else None
    current = history[history[RUN_ID] == run_id][[TARGET_ID, "status", PROBABILITY_BY_DEADLINE]]

    def before(other: int | None, suffix: str) -> pd.DataFrame:
        rows = history[history[RUN_ID] == other][[TARGET_ID, "status", PROBABILITY_BY_DEADLINE]]
        return rows.rename(columns={"status": f"status{suffix}", PROBABILITY_BY_DEADLINE: f"p{suffix}"})

    out = current.merge(before(previous, "_previous"), on=TARGET_ID, how="left").merge(
        before(month, "_30d"), on=TARGET_ID, how="left")
    probability = out[PROBABILITY_BY_DEADLINE].astype(float)
    out = out.assign(previous_run_id=previous, previous_status=out["status_previous"],
                     probability_change=probability - out["p_previous"].astype(float),
                     run_30d_id=month, probability_change_30d=probability - out["p_30d"].astype(float))
    return out[columns].reset_index(drop=True)


def alerts_frame(conn: Connection, run_id: int | None = None, up_to: int | None = None,
                 limit: int | None = None) -> pd.DataFrame:
    """Stored alerts (ALERTS_EXPORT_COLUMNS), newest first: of one run, of runs up to `up_to`,
    or all; `limit` keeps the newest."""
    al = schema.alerts
    query = select(al.c.id.label("alert_id"), al.c.run_id, al.c.previous_run_id, al.c.created_at, al.c.kind,
                   al.c.target_id, al.c.series_key.label(SERIES), al.c.threshold, al.c.policy_id, al.c.before,
                   al.c.after, al.c.change, al.c.message).order_by(al.c.id.desc())
    if run_id is not None:
        query = query.where(al.c.run_id == run_id)
    if up_to is not None:
        query = query.where(al.c.run_id <= up_to)
    if limit is not None:
        query = query.limit(limit)
    return _frame(conn, query)[ALERTS_EXPORT_COLUMNS]


def webhook_deliveries_frame(conn: Connection, limit: int = 200) -> pd.DataFrame:
    """The newest webhook deliveries (without the secrets, which are never stored)."""
    w = schema.webhook_deliveries
    return _frame(conn, select(w.c.id, w.c.run_id, w.c.url, w.c.alerts, w.c.status, w.c.attempts, w.c.http_status,
                               w.c.error, w.c.delivered_at).order_by(w.c.id.desc()).limit(limit))


def connect(conn_or_engine: Connection | Engine):
    """A context manager yielding a connection, for callers holding either."""
    if isinstance(conn_or_engine, Engine):
        return conn_or_engine.connect()
    return contextlib.nullcontext(conn_or_engine)


__all__ = [
    "observation_evidence", "target_evidence",
    "latest_run", "get_run", "series_catalogue", "domestic_series", "last_observation_date", "history_frame", "bounds_frame", "targets_frame",
    "observations_export_frame", "run_frames", "connect", "RUN_ID", "target_proposals_frame",
    "complete_runs", "target_history", "crossing_history", "target_changes", "alerts_frame",
    "webhook_deliveries_frame", "series_states", "crossing_cdf", "crossings_frame", "run_series_frame",
    "assessments_frame", "of_series", "observation_counts", "run_row_counts", "reused_choice", "stored_posteriors",
]
