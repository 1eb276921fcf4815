"""First crossings of a threshold: observed (from the evidence) and projected (per sample
path, vectorised with NumPy).

Evidence is the fitted history (exact and approximate values) plus bounds: at each date it
proves the share at or above a threshold (its lower end is), proves it below (its upper
end is below), or neither (a lower bound below the threshold, an upper bound above it).

A projected crossing date is a distribution: each path's first date at or above the
threshold. Paths that never cross within the horizon count as "later than the horizon",
so the median (p10, p90) date exists only when at least 50% (10%, 90%) of the paths cross.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from forecast.frames import (
    BOUND_LOWER, BOUND_UPPER, CROSSING_COLUMNS, CROSSING_STATUS, DS, LATEST_ABOVE, MEDIAN_DATE,
    MILESTONES, OBSERVED_DATE, P10_DATE, P90_DATE, PROBABILITY_BY_HORIZON, SERIES, THRESHOLD, Y,
)

NEVER = np.iinfo(np.int64).max  # index of "does not cross within the horizon"
TOLERANCE = 1e-9  # a path exactly at the threshold counts as at or above it
BASIS = "basis"  # evidence column: observation | lower_bound | upper_bound | range


def evidence_frame(history: pd.DataFrame, bounds: pd.DataFrame | None = None) -> pd.DataFrame:
    """History (ds, y) and bounds (BOUNDS_COLUMNS) as one frame ds, lower, upper, basis,
    sorted by date: an observation is its own lower and upper end."""
    obs = pd.DataFrame({DS: pd.to_datetime(history[DS]), BOUND_LOWER: history[Y].astype(float),
                        BOUND_UPPER: history[Y].astype(float), BASIS: "observation"})
    if bounds is None or bounds.empty:
        return obs.reset_index(drop=True)
    b = pd.DataFrame({DS: pd.to_datetime(bounds[DS]), BOUND_LOWER: bounds[BOUND_LOWER].astype(float),
                      BOUND_UPPER: bounds[BOUND_UPPER].astype(float)})
    has_low, has_high = b[BOUND_LOWER].notna(), b[BOUND_UPPER].notna()
    b[BASIS] = np.where(has_low & has_high, "range", np.where(has_low, "lower_bound", "upper_bound"))
    return pd.concat([obs, b], ignore_index=True).sort_values(DS, kind="stable").reset_index(drop=True)


def proves_above(evidence: pd.DataFrame, threshold: float) -> pd.Series:
    return evidence[BOUND_LOWER] >= threshold - TOLERANCE  # NaN compares False


def proves_below(evidence: pd.DataFrame, threshold: float) -> pd.Series:
    return evidence[BOUND_UPPER] < threshold - TOLERANCE


def first_crossing_index(paths: np.ndarray, threshold: float) -> np.ndarray:
    """For paths shaped (dates, n_paths): index of each path's first date at or above the
    threshold, NEVER where a path stays below it throughout."""
    if paths.shape[0] == 0:  # a horizon that ends before the data: nothing can cross
        return np.full(paths.shape[1], NEVER, dtype=np.int64)
    above = paths >= threshold - TOLERANCE
    index = above.argmax(axis=0).astype(np.int64)
    index[~above.any(axis=0)] = NEVER
    return index


def first_crossing_index_loop(paths: np.ndarray, threshold: float) -> np.ndarray:
    """The same, one path at a time in Python: the baseline the benchmark measures against."""
    result = np.full(paths.shape[1], NEVER, dtype=np.int64)
    for j in range(paths.shape[1]):
        for i in range(paths.shape[0]):
            if paths[i, j] >= threshold - TOLERANCE:
                result[j] = i
                break
    return result


def probability_by(dates: pd.DatetimeIndex, index: np.ndarray, deadline) -> float:
    """Share of paths whose first crossing is on or before `deadline`."""
    n_before = int(np.searchsorted(dates.values, np.datetime64(pd.Timestamp(deadline)), side="right"))
    return float(np.mean(index < n_before))


def _quantile_date(dates: pd.DatetimeIndex, index: np.ndarray, q: float):
    """The q-quantile of the crossing date ("lower" order statistic), or None past the horizon."""
    k = int(np.ceil(q * len(index))) - 1
    value = np.partition(index, max(k, 0))[max(k, 0)]
    return None if value == NEVER else dates[int(value)].date()


def observed_crossing(history: pd.DataFrame, threshold: float):
    """First observed date at or above the threshold, or None (history: ds, y)."""
    hit = history.loc[history[Y] >= threshold - TOLERANCE, DS]
    return None if hit.empty else pd.Timestamp(hit.iloc[0]).date()


def observed_state(evidence: pd.DataFrame, threshold: float) -> dict | None:
    """What the evidence says about a threshold, or None when nothing proves it reached.

    first_above: the first date proved at or above; left_censored: nothing before it proves
    the share below (the first evidence is already above, or only undecided bounds precede
    it), so when it was crossed is unknown; latest_above: the latest deciding evidence
    (proving above or below) is at or above."""
    above, below = proves_above(evidence, threshold), proves_below(evidence, threshold)
    if not above.any():
        return None
    first = int(np.flatnonzero(above.to_numpy())[0])
    deciding = np.flatnonzero((above | below).to_numpy())
    return {"first_above": evidence[DS].iloc[first].date(),
            "left_censored": not below.iloc[:first].any(),
            "latest_above": bool(above.iloc[deciding[-1]])}


def _milestones(dates, index, horizon_end) -> dict:
    """P(first crossing by each milestone date); None when the horizon ends before it."""
    return {col: (probability_by(dates, index, day)
                  if index is not None and horizon_end is not None and horizon_end >= pd.Timestamp(day)
                  else None)
            for col, day in MILESTONES.items()}


def crossing_row(series: str, threshold: float, history: pd.DataFrame,
                 dates: pd.DatetimeIndex | None, level: np.ndarray | None,
                 bounds: pd.DataFrame | None = None) -> dict | None:
    """One row of the crossings frame. Without a forecast (`level` None) only an observed
    crossing can be reported: None otherwise, never a made-up projection.

    Observed and still above: the probabilities are 1.0. Observed but fallen back below:
    median/p10/p90 stay the observed first date, and the probabilities are those of getting
    back to the threshold (the paths start after the last observation), None without paths."""
    row = {SERIES: series, THRESHOLD: float(threshold), OBSERVED_DATE: None, MEDIAN_DATE: None,
           P10_DATE: None, P90_DATE: None, PROBABILITY_BY_HORIZON: None, LATEST_ABOVE: None}
    has_paths = level is not None and dates is not None and len(dates) > 0
    index = first_crossing_index(level, threshold) if has_paths else None
    horizon_end = dates[-1] if has_paths else None
    state = observed_state(evidence_frame(history, bounds), threshold)
    if state is not None:
        status = "above_since_first" if state["left_censored"] else "crossed"
        if state["latest_above"]:
            probabilities = {PROBABILITY_BY_HORIZON: 1.0, **{c: 1.0 for c in MILESTONES}}
        else:
            probabilities = {PROBABILITY_BY_HORIZON: float(np.mean(index != NEVER)) if has_paths else None,
                             **_milestones(dates, index, horizon_end)}
        return {**row, CROSSING_STATUS: status, OBSERVED_DATE: state["first_above"],
                MEDIAN_DATE: state["first_above"], LATEST_ABOVE: state["latest_above"], **probabilities}
    if not has_paths:
        return None
    median = _quantile_date(dates, index, 0.5)
    return {
        **row,
        CROSSING_STATUS: "projected" if median is not None else "not_within_horizon",
        MEDIAN_DATE: median,
        P10_DATE: _quantile_date(dates, index, 0.1),
        P90_DATE: _quantile_date(dates, index, 0.9),
        PROBABILITY_BY_HORIZON: float(np.mean(index != NEVER)),
        LATEST_ABOVE: False,
        **_milestones(dates, index, horizon_end),
    }


def crossings_frame(series: str, thresholds, history: pd.DataFrame,
                    dates: pd.DatetimeIndex | None, level: np.ndarray | None,
                    bounds: pd.DataFrame | None = None) -> pd.DataFrame:
    rows = [crossing_row(series, t, history, dates, level, bounds) for t in sorted(set(thresholds))]
    return pd.DataFrame([r for r in rows if r is not None], columns=CROSSING_COLUMNS)
