"""Writes of forecast runs. A run is inserted as 'running', filled series by series, and
flipped to 'complete' (or 'failed') last: readers only ever see complete runs
(jobs.store.read). A run whose process died stays 'running' until the next refresh marks
it 'abandoned'."""
from __future__ import annotations

import json

import pandas as pd
from sqlalchemy import Connection, insert, select, update

from forecast.engine import SeriesResult
from forecast.frames import DS, SERIES
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


def finish_run(conn: Connection, run_id: int, status: str, error: str | None = None) -> None:
    conn.execute(update(schema.forecast_runs).where(schema.forecast_runs.c.id == run_id)
                 .values(status=status, finished_at=utcnow(), error=error))


def _records(frame: pd.DataFrame, run_id: int, renames: dict) -> list[dict]:
    frame = frame.rename(columns=renames).assign(run_id=run_id)
    frame = frame.astype(object).where(frame.notna(), None)
    return frame.to_dict("records")


def _date(value):
    return None if value is None else pd.Timestamp(value).date()


def write_series_result(conn: Connection, run_id: int, result: SeriesResult) -> None:
    conn.execute(schema.run_series.insert().values(
        run_id=run_id, series_key=result.series, status=result.status, model=result.model,
        error=result.error, n_obs=result.n_obs, last_obs_date=result.last_obs_date,
        seconds=result.seconds, skill=result.skill, skill_origins=result.skill_origins,
        weights=json.dumps(result.weights, sort_keys=True) if result.weights else None,
    ))
    if not result.forecast.empty:
        rows = _records(result.forecast, run_id, {SERIES: "series_key", DS: "date"})
        conn.execute(schema.forecasts.insert(), [{**r, "date": _date(r["date"])} for r in rows])
    if not result.crossings.empty:
        conn.execute(schema.crossings.insert(), _records(result.crossings, run_id, {SERIES: "series_key"}))
    write_assessments(conn, run_id, result.targets)
    if not result.backtest.empty:
        columns = {c.name for c in schema.backtest_scores.c}
        rows = _records(result.backtest, run_id, {})
        conn.execute(schema.backtest_scores.insert(), [
            {**{k: v for k, v in r.items() if k in columns}, "series_key": result.series,
             "chosen": bool(r.get("chosen"))} for r in rows])


def write_assessments(conn: Connection, run_id: int, assessments: pd.DataFrame) -> None:
    if assessments.empty:
        return
    columns = {c.name for c in schema.target_assessments.c}
    rows = _records(assessments, run_id, {SERIES: "series_key"})
    conn.execute(schema.target_assessments.insert(), [
        {k: v for k, v in r.items() if k in columns} for r in rows
    ])


def carry_over(conn: Connection, from_run: int, to_run: int, skip_series: list[str]) -> set[str]:
    """Copy the previous run's results for the series it fitted and that are not refitted
    now (`refresh --series`); return those series. Assessments of targets whose series the
    previous run did not fit are not copied: the new run assesses them itself."""
    rs = schema.run_series
    carried = set(conn.execute(select(rs.c.series_key).where(
        rs.c.run_id == from_run, rs.c.series_key.not_in(skip_series))).scalars())
    tables = (schema.run_series, schema.forecasts, schema.crossings, schema.backtest_scores,
              schema.target_assessments)
    for table in tables:
        columns = [c for c in table.c if c.name != "run_id"]
        rows = conn.execute(select(*columns).where(
            table.c.run_id == from_run, table.c.series_key.in_(carried),
        )).mappings().all()
        if rows:
            conn.execute(insert(table), [{**r, "run_id": to_run} for r in rows])
    return carried
