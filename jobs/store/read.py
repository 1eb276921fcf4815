"""Shared read functions: the CSV export and the UI both read through these, so a number
on screen and in a file are the same number. Only complete runs are ever "latest"."""
from __future__ import annotations

import contextlib

import pandas as pd
from sqlalchemy import Connection, Engine, select

from forecast.frames import (
    BOUND_LOWER, BOUND_UPPER, BOUNDS_COLUMNS, CROSSINGS_EXPORT_COLUMNS, DATE, DEADLINE, DS, FIT_KINDS, FORECASTS_EXPORT_COLUMNS, MEASURE,
    OBSERVATIONS_EXPORT_COLUMNS, RUN_ID, SERIES, TARGET_ID, TARGET_INPUT_COLUMNS,
    TARGETS_EXPORT_COLUMNS, THRESHOLD, Y, validate_history,
)
from jobs.store import schema

DOMESTIC_SHARE = "domestic_share"


def _frame(conn: Connection, query) -> pd.DataFrame:
    result = conn.execute(query)
    return pd.DataFrame(result.mappings().all(), columns=list(result.keys()))


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


def observations_export_frame(conn: Connection) -> pd.DataFrame:
    obs, series, snap = schema.observations, schema.series, schema.snapshots
    query = (
        select(obs.c.series_key.label(SERIES), series.c.sector, series.c.technology,
               obs.c.date.label(DATE), obs.c.value, series.c.source,
               snap.c.sha256.label("snapshot_sha256"))
        .join(series, series.c.key == obs.c.series_key)
        .outerjoin(snap, snap.c.id == obs.c.snapshot_id)
        .order_by(obs.c.series_key, obs.c.date)
    )
    return _frame(conn, query)[OBSERVATIONS_EXPORT_COLUMNS]


def run_frames(conn: Connection, run_id: int) -> dict[str, pd.DataFrame]:
    """forecasts / crossings / targets (export columns) plus backtest and run_series."""
    f, c, a = schema.forecasts, schema.crossings, schema.target_assessments
    t, p = schema.targets, schema.policies
    forecasts = _frame(conn, select(
        f.c.run_id, f.c.series_key.label(SERIES), f.c.date.label(DATE), f.c.yhat, f.c.lower_80,
        f.c.upper_80, f.c.lower_95, f.c.upper_95, f.c.model,
    ).where(f.c.run_id == run_id).order_by(f.c.series_key, f.c.date))
    crossings = _frame(conn, select(
        c.c.run_id, c.c.series_key.label(SERIES), c.c.threshold, c.c.status, c.c.observed_date,
        c.c.median_date, c.c.p10_date, c.c.p90_date, c.c.probability_by_horizon,
        c.c.latest_above, c.c.probability_by_2027, c.c.probability_by_2030,
    ).where(c.c.run_id == run_id).order_by(c.c.series_key, c.c.threshold))
    targets = _frame(conn, select(
        a.c.run_id, a.c.target_id, t.c.policy_id, p.c.title.label("policy_title"), t.c.sector,
        t.c.technology, a.c.series_key.label(SERIES), a.c.measure, t.c.threshold, t.c.deadline,
        a.c.probability_by_deadline, a.c.projected_date, a.c.status, a.c.basis, a.c.evidence_date,
    ).join(t, t.c.id == a.c.target_id).join(p, p.c.id == t.c.policy_id)
        .where(a.c.run_id == run_id).order_by(a.c.target_id))
    backtest = _frame(conn, select(schema.backtest_scores).where(
        schema.backtest_scores.c.run_id == run_id).order_by(
        schema.backtest_scores.c.series_key, schema.backtest_scores.c.model))
    run_series = _frame(conn, select(schema.run_series).where(
        schema.run_series.c.run_id == run_id).order_by(schema.run_series.c.series_key))
    return {
        "forecasts": forecasts[FORECASTS_EXPORT_COLUMNS],
        "crossings": crossings[CROSSINGS_EXPORT_COLUMNS],
        "targets": targets[TARGETS_EXPORT_COLUMNS],
        "backtest": backtest,
        "run_series": run_series,
    }


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


def connect(conn_or_engine: Connection | Engine):
    """A context manager yielding a connection, for callers holding either."""
    if isinstance(conn_or_engine, Engine):
        return conn_or_engine.connect()
    return contextlib.nullcontext(conn_or_engine)


__all__ = [
    "latest_run", "get_run", "series_catalogue", "history_frame", "bounds_frame", "targets_frame",
    "observations_export_frame", "run_frames", "connect", "RUN_ID", "target_proposals_frame",
]
