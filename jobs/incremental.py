"""Incremental refresh: which series a run refits, and how it assesses the ones it carries over.

A series is refitted when it is new, its skip key (jobs.fingerprints.series_key) differs
from the one stored with its latest result (none is stored when its worker died), or with
`--force`; a series that failed on the same inputs fails again, so it is carried too. Every other
series is carried over: its results are copied from the latest complete run and its targets
are assessed again from the stored crossing CDFs and the stored observations, on this run's
`as_of` -- the same assessment a fresh fit with the same seed gives (tests/test_incremental.py).

A refitted series reuses its stored model choice (forecast.choice: no backtest, only the
final fit) when only its data changed -- its choice key (jobs.fingerprints.choice_key: the
skip key without the data) is the stored choice's --, its latest result is `ok` with a
stored choice, and its newest observation lies less than a year after the newest one the
choice saw (the backtest's origins are a year apart: after a year the choice is made again).
`--force` and `--reselect` make a new choice for every series they refit.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Iterator

import pandas as pd

from forecast.calendar import FREQUENCIES, history_frequency
from forecast.choice import StoredChoice
from forecast.engine import EngineConfig
from forecast.frames import (
    BOUNDS_COLUMNS, DS, SERIES, TARGET_ASSESSMENT_COLUMNS, TARGET_INPUT_COLUMNS, THRESHOLD, Y, validate_history,
)
from forecast.targets import assessment_rows
from jobs import fingerprints
from jobs.store import read, runs

PLAN_CHUNK = 500  # series whose observations are read, hashed and planned (or carried over) at a time
REASSESS_CHUNK = 200  # carried series whose stored CDFs are read back at a time
EMPTY_HISTORY = pd.DataFrame({DS: pd.Series(dtype="datetime64[ns]"), Y: pd.Series(dtype=float)})


@dataclass(frozen=True)
class Plan:
    keys: dict[str, str]  # series fitted in this run -> its skip key
    refit: list[str]
    carry: list[str]  # held by the previous run and not refitted
    choice_keys: dict[str, str]  # series fitted in this run -> its choice key
    reuse: dict[str, StoredChoice]  # refitted series -> the stored choice its final fit reuses


def series_targets(targets: pd.DataFrame) -> dict[str, pd.DataFrame]:
    """Each measuring series' target rows (TARGET_INPUT_COLUMNS)."""
    return {key: group[TARGET_INPUT_COLUMNS] for key, group in targets.groupby(SERIES)}


def chunks(keys: list[str], size: int | None = None) -> Iterator[list[str]]:
    """`keys` in runs of `size` (default PLAN_CHUNK, read when called: tests lower it)."""
    size = size or PLAN_CHUNK
    for start in range(0, len(keys), size):
        yield keys[start:start + size]


def read_inputs(conn, keys: list[str]) -> tuple[dict[str, pd.DataFrame], dict[str, pd.DataFrame]]:
    """These series' stored inputs: per series its fitted observations (ds, y) as stored
    (the dates parsed once for the chunk, not once per series), and its bounds
    (BOUNDS_COLUMNS). A series of bounds only has an empty history (it is still assessed);
    one with neither is left out."""
    bounds, history = read.bounds_frame(conn, keys), read.history_frame(conn, keys, validate=False)
    history[DS] = pd.to_datetime(history[DS])
    bounds = dict(tuple(bounds[BOUNDS_COLUMNS].groupby(bounds[SERIES])))
    groups = dict.fromkeys(bounds, EMPTY_HISTORY)
    groups.update(tuple(history[[DS, Y]].groupby(history[SERIES])))
    return groups, bounds


def plan_store(conn, keys: list[str], frequencies: dict[str, str], targets: dict[str, pd.DataFrame],
               config: EngineConfig, previous_run: int | None, only: list[str] | None, force: bool,
               policy_dates: dict[str, dict], hashed: fingerprints.InputHash, reselect: bool = False) -> Plan:
    """`plan` over the store, PLAN_CHUNK series at a time (`keys` in key order): each chunk's
    observations are read, hashed (into `hashed`, the run's input hash) and planned, then
    dropped; of each chunk only the plan is kept."""
    keys_fitted, refit, carry, choice_keys, reuse = {}, [], [], {}, {}
    for chunk in chunks(keys):
        groups, bounds = read_inputs(conn, chunk)
        states = read.series_states(conn, previous_run if previous_run is not None else -1, chunk)
        part, data = plan(groups, bounds, frequencies, targets, config, states, only, force, policy_dates, reselect)
        hashed.add(data)
        keys_fitted.update(part.keys)
        refit += part.refit
        carry += part.carry
        choice_keys.update(part.choice_keys)
        reuse.update(part.reuse)
    return Plan(keys_fitted, refit, carry, choice_keys, reuse)


def plan(groups: dict[str, pd.DataFrame], bounds: dict[str, pd.DataFrame], frequencies: dict[str, str],
         targets: dict[str, pd.DataFrame], config: EngineConfig, previous: pd.DataFrame,
         only: list[str] | None, force: bool,
         policy_dates: dict[str, dict] | None = None, reselect: bool = False) -> tuple[Plan, dict[str, str]]:
    """The plan of these series (`groups`: read_inputs), and each one's data hash (for the
    run's whole-store input hash). `previous`: read.series_states of the latest complete run
    (empty without one); `only`: `--series` (the others are carried over whatever their
    key); `policy_dates`: per series, {policy: date} offered as changepoints (read.policy_dates);
    `reselect`: no stored choice is reused."""
    params, code = config.to_dict(), fingerprints.forecast_code_version()
    data, keys = {}, {}
    for key, group in groups.items():
        data[key] = fingerprints.data_hash(group, bounds.get(key))
        keys[key] = fingerprints.series_key(data[key], frequencies.get(key), _thresholds(config, targets, key),
                                            params, code, (policy_dates or {}).get(key))
    held = {row[SERIES]: row for row in previous.to_dict("records")}
    candidates = set(groups) & set(only) if only else set(groups)
    refit = sorted(k for k in candidates if force or k not in held or held[k]["input_hash"] != keys[k])
    refitted = set(refit)
    carry = sorted(k for k in groups if k in held and k not in refitted)
    choice_keys = {k: fingerprints.choice_key(frequencies.get(k), _thresholds(config, targets, k), params, code,
                                              (policy_dates or {}).get(k)) for k in refit}
    reuse = {} if force or reselect else {
        k: choice for k in refit if k in held and (choice := reusable(held[k], choice_keys[k], groups[k]))}
    return Plan({k: keys[k] for k in refit}, refit, carry, choice_keys, reuse), data


def _thresholds(config: EngineConfig, targets: dict[str, pd.DataFrame], key: str) -> list:
    return [*config.thresholds, *(targets[key][THRESHOLD] if key in targets else ())]


def reusable(state: dict, choice_key: str, history: pd.DataFrame) -> StoredChoice | None:
    """The stored choice of a series' latest result (a read.series_states row) if the rule
    lets its refit on `history` reuse it, else None (a new choice is made)."""
    if state["status"] != "ok" or not isinstance(state["choice"], str):
        return None
    choice = StoredChoice.from_json(state["choice"], int(state["choice_run_id"]))
    return choice if choice.key == choice_key and choice.still_fresh(pd.to_datetime(history[DS]).max()) else None


def assess_carried(conn, from_run: int, to_run: int, carried: dict[str, str], frequencies: dict[str, str],
                   targets: dict[str, pd.DataFrame], as_of) -> None:
    """Assess and write the targets of carried-over series ({series: status}; those with
    targets), a chunk of series at a time, from their stored observations and run
    `from_run`'s stored CDFs: per chunk one read of each, one validation of the histories
    and one write."""
    measured = sorted(k for k in carried if k in targets)
    for chunk in chunks(measured, REASSESS_CHUNK):
        groups, bounds = read_inputs(conn, chunk)
        wanted = pd.concat([targets[k] for k in chunk], ignore_index=True)
        cdf = read.crossing_cdf(conn, from_run, chunk, wanted[THRESHOLD].unique())  # only the targets' thresholds
        cdf = dict(tuple(cdf.assign(**{DS: pd.to_datetime(cdf[DS])}).groupby(SERIES)))
        clean = _validated(groups, [k for k in chunk if carried[k] != "failed"])
        records = {k: [] for k in chunk}
        for target in wanted.to_dict("records"):
            records[target[SERIES]].append(target)
        rows = [row for k in chunk for row in assess_stored(
            carried[k], clean.get(k, EMPTY_HISTORY), bounds.get(k), frequencies.get(k), records[k], as_of, cdf.get(k))]
        runs.write_assessments(conn, to_run, pd.DataFrame(rows, columns=TARGET_ASSESSMENT_COLUMNS))


def _validated(groups: dict[str, pd.DataFrame], keys: list[str]) -> dict[str, pd.DataFrame]:
    """These series' histories as refresh.fit_one gave them to the engine (validated, in date
    order), validated together: they passed on their own when fitted, on the same data."""
    histories = [groups[k].assign(**{SERIES: k}) for k in keys if k in groups and len(groups[k])]
    if not histories:
        return {}
    clean = validate_history(pd.concat(histories, ignore_index=True))
    return {k: group[[DS, Y]].reset_index(drop=True) for k, group in clean.groupby(SERIES, sort=False)}


def assess_stored(status: str, history: pd.DataFrame, bounds, frequency, records: list[dict],
                  as_of, cdf: pd.DataFrame | None) -> list[dict]:
    """A series' target assessment rows as forecast.engine.forecast_series (or refresh.fit_one
    for a failed series) made them, from the stored CDF instead of the paths (`history`:
    validated, in date order; `records`: its target rows, TARGET_INPUT_COLUMNS)."""
    as_of = pd.Timestamp(as_of)
    if status == "failed":
        return assessment_rows(records, None, as_of)
    if status == "ok" and frequency not in FREQUENCIES:  # the engine forecasts on the inferred one
        frequency = history_frequency(history)
    return assessment_rows(records, history, as_of, cdf, bounds, frequency)


__all__ = ["Plan", "plan", "plan_store", "reusable", "read_inputs", "chunks", "series_targets", "assess_carried", "assess_stored"]
