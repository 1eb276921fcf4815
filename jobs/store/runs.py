"""Writes of forecast runs. A run is inserted as 'running', filled series by series, and
flipped to 'complete' (or 'failed') last: readers only ever see complete runs
(jobs.store.read). Results are written in batches as they arrive; a series an incremental
refresh does not refit points at the run that holds its results (run_series.results_run_id),
and a series refitted with its stored model choice at the run that made the choice, whose
backtest_scores rows hold its scores (run_series.choice_run_id). A run whose process died
stays 'running' until the next refresh marks it 'abandoned'."""
from __future__ import annotations

import json

import pandas as pd
from sqlalchemy import Connection, Integer, func, insert, literal, select, update

from forecast.engine import SeriesResult
from forecast.frames import CDF, DS, P_ABOVE, SERIES, THRESHOLD
from jobs.store import schema
from jobs.store.db import utcnow


def start_run(conn: Connection, *, code_version: str, params: dict, input_hash: str,
              seed: int, trigger: str) -> int:
    result = conn.execute(schema.forecast_runs.insert().values(
        started_at=utcnow(), status="running", code_version=code_version,
        params=json.dumps(params, sort_keys=True, default=str), input_hash=input_hash,
        seed=seed, trigger=trigger,
    ))
    return int(result.inserted_primary_key[0])


def newest_running(conn: Connection) -> dict | None:
    """The newest run still marked 'running' (id, started_at), or None."""
    runs = schema.forecast_runs
    row = conn.execute(select(runs.c.id, runs.c.started_at).where(runs.c.status == "running")
                       .order_by(runs.c.id.desc()).limit(1)).mappings().first()
    return dict(row) if row else None


def abandon_running(conn: Connection) -> list[int]:
    """Mark every run still 'running' as 'abandoned' and return their ids. Called by a
    refresh holding the refresh lease: no live process can be writing them."""
    runs = schema.forecast_runs
    ids = list(conn.execute(select(runs.c.id).where(runs.c.status == "running").order_by(runs.c.id)).scalars())
    if ids:
        conn.execute(update(runs).where(runs.c.id.in_(ids)).values(
            status="abandoned", finished_at=utcnow(),
            error="its refresh stopped before the end (killed or crashed); marked by the next refresh"))
    return ids


def finish_run(conn: Connection, run_id: int, status: str, error: str | None = None,
               refitted: int | None = None, carried: int | None = None, choice_reused: int | None = None,
               posterior_updated: int | None = None) -> None:
    conn.execute(update(schema.forecast_runs).where(schema.forecast_runs.c.id == run_id)
                 .values(status=status, finished_at=utcnow(), error=error, series_refitted=refitted,
                         series_carried=carried, series_choice_reused=choice_reused,
                         series_posterior_updated=posterior_updated))


def _records(frame: pd.DataFrame, run_id: int, renames: dict) -> list[dict]:
    """Rows as dicts of plain Python values, missing ones None (column-wise: a frame-wide
    astype(object) cost more than the INSERT itself)."""
    frame = frame.rename(columns=renames)
    columns = [[None if _missing(v) else v for v in frame[c].tolist()] for c in frame.columns]
    return [{**dict(zip(frame.columns, values)), "run_id": run_id} for values in zip(*columns)]


def _missing(value) -> bool:
    return value is None or value is pd.NaT or (isinstance(value, float) and value != value)


def _date(value):
    return None if value is None else pd.Timestamp(value).date()


def _policy_changepoints(result: SeriesResult) -> str | None:
    if not result.policy_changepoints:
        return None
    dates = {policy: str(date) for policy, date in result.policy_changepoints.items()}
    return json.dumps({"dates": dates, "kept": result.policy_kept}, sort_keys=True)


def write_results(conn: Connection, run_id: int, results: list[tuple[SeriesResult, str | None]],
                  choice_keys: dict[str, str] | None = None) -> None:
    """Write a batch of (series result, its input hash): one executemany per table. A choice
    made in this run is stored with its key from `choice_keys` (jobs.fingerprints.choice_key);
    a reused one keeps its own, and its backtest scores stay with the run that made it."""
    rows = {table: [] for table in (schema.run_series, schema.forecasts, schema.crossings, schema.crossing_cdf,
                                    schema.backtest_scores, schema.target_assessments, schema.posteriors)}
    scored = {c.name for c in schema.backtest_scores.c}
    for result, key in results:
        choice = result.choice.stamped(run_id, (choice_keys or {}).get(result.series)) if result.choice else None
        rows[schema.run_series].append(dict(
            run_id=run_id, series_key=result.series, status=result.status, model=result.model,
            error=result.error, n_obs=result.n_obs, last_obs_date=result.last_obs_date,
            seconds=result.seconds, skill=result.skill, skill_origins=result.skill_origins,
            weights=json.dumps(result.weights, sort_keys=True) if result.weights else None, input_hash=key,
            results_run_id=run_id, policy_changepoints=_policy_changepoints(result),
            choice=choice.to_json() if choice else None, choice_run_id=choice.run_id if choice else run_id))
        rows[schema.forecasts] += [{**r, "date": _date(r["date"])} for r in
                                   _records(result.forecast, run_id, {SERIES: "series_key", DS: "date"})]
        rows[schema.crossings] += _records(result.crossings, run_id, {SERIES: "series_key"})
        rows[schema.crossing_cdf] += _cdf_rows(run_id, result.cdf)
        rows[schema.backtest_scores] += [
            {**{k: v for k, v in r.items() if k in scored}, "series_key": result.series,
             "chosen": bool(r.get("chosen"))} for r in _records(result.backtest, run_id, {})]
        rows[schema.target_assessments] += _assessment_rows(run_id, result.targets)
        rows[schema.posteriors] += [dict(run_id=run_id, series_key=result.series, model=model, posterior=blob)
                                    for model, blob in result.posteriors.items()]
    for table, values in rows.items():
        if values:
            conn.execute(insert(table), values)


def _cdf_rows(run_id: int, cdf: pd.DataFrame) -> list[dict]:
    """crossing_cdf rows, built column-wise: hundreds per series, never missing values."""
    columns = (cdf[SERIES].tolist(), cdf[THRESHOLD].astype(float).tolist(), pd.to_datetime(cdf[DS]).dt.date.tolist(),
               cdf[CDF].astype(float).tolist(), cdf[P_ABOVE].astype(float).tolist())
    return [dict(run_id=run_id, series_key=k, threshold=t, date=d, cdf=c, p_above=p) for k, t, d, c, p in zip(*columns)]


def _assessment_rows(run_id: int, assessments: pd.DataFrame) -> list[dict]:
    columns = {c.name for c in schema.target_assessments.c}
    return [{k: v for k, v in r.items() if k in columns}
            for r in _records(assessments, run_id, {SERIES: "series_key"})]


def write_assessments(conn: Connection, run_id: int, assessments: pd.DataFrame) -> None:
    if not assessments.empty:
        conn.execute(insert(schema.target_assessments), _assessment_rows(run_id, assessments))


CARRY_CHUNK = 500  # series per INSERT ... SELECT (bound parameters stay far below any limit)


def carry_over(conn: Connection, from_run: int, to_run: int, series: list[str]) -> dict[str, str]:
    """Carry run `from_run`'s results of these series (those it holds) into run `to_run` and
    return them with their status: only their run_series rows are copied (inside the
    database), pointing at the run whose rows hold the results (results_run_id); forecasts,
    crossings, CDFs and backtest scores stay where they are. Target assessments are not
    carried: the new run assesses them on its own `as_of`."""
    rs = schema.run_series
    carried: dict[str, str] = {}
    columns = [literal(to_run, Integer).label("run_id") if c.name == "run_id"
               else func.coalesce(rs.c.results_run_id, rs.c.run_id).label("results_run_id") if c.name == "results_run_id"
               else func.coalesce(rs.c.choice_run_id, rs.c.results_run_id, rs.c.run_id).label("choice_run_id")
               if c.name == "choice_run_id" else c for c in rs.c]
    for start in range(0, len(series), CARRY_CHUNK):
        chunk = series[start:start + CARRY_CHUNK]
        carried.update(conn.execute(select(rs.c.series_key, rs.c.status).where(
            rs.c.run_id == from_run, rs.c.series_key.in_(chunk))).all())
        conn.execute(insert(rs).from_select([c.name for c in rs.c], select(*columns).where(
            rs.c.run_id == from_run, rs.c.series_key.in_(chunk))))
    return carried
