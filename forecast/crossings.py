"""First crossings of a threshold, per sample path, vectorised with NumPy.

A crossing date is a distribution: each path's first date at or above the threshold.
Paths that never cross within the horizon count as "later than the horizon", so the
median (p10, p90) date exists only when at least 50% (10%, 90%) of the paths cross.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from forecast.frames import (
    CROSSING_COLUMNS, CROSSING_STATUS, DS, MEDIAN_DATE, OBSERVED_DATE, P10_DATE, P90_DATE,
    PROBABILITY_BY_HORIZON, SERIES, THRESHOLD, Y,
)

NEVER = np.iinfo(np.int64).max  # index of "does not cross within the horizon"
TOLERANCE = 1e-9  # a path exactly at the threshold counts as at or above it


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
    """First observed date at or above the threshold, or None."""
    hit = history.loc[history[Y] >= threshold - TOLERANCE, DS]
    return None if hit.empty else pd.Timestamp(hit.iloc[0]).date()


def crossing_row(series: str, threshold: float, history: pd.DataFrame,
                 dates: pd.DatetimeIndex | None, level: np.ndarray | None) -> dict | None:
    """One row of the crossings frame. Without a forecast (`level` None) only an observed
    crossing can be reported: None otherwise, never a made-up projection."""
    row = {SERIES: series, THRESHOLD: float(threshold), OBSERVED_DATE: None,
           MEDIAN_DATE: None, P10_DATE: None, P90_DATE: None, PROBABILITY_BY_HORIZON: None}
    observed = observed_crossing(history, threshold)
    if observed is not None:
        return {**row, CROSSING_STATUS: "crossed", OBSERVED_DATE: observed,
                MEDIAN_DATE: observed, PROBABILITY_BY_HORIZON: 1.0}
    if level is None:
        return None
    index = first_crossing_index(level, threshold)
    probability = float(np.mean(index != NEVER))
    median = _quantile_date(dates, index, 0.5)
    return {
        **row,
        CROSSING_STATUS: "projected" if median is not None else "not_within_horizon",
        MEDIAN_DATE: median,
        P10_DATE: _quantile_date(dates, index, 0.1),
        P90_DATE: _quantile_date(dates, index, 0.9),
        PROBABILITY_BY_HORIZON: probability,
    }


def crossings_frame(series: str, thresholds, history: pd.DataFrame,
                    dates: pd.DatetimeIndex | None, level: np.ndarray | None) -> pd.DataFrame:
    rows = [crossing_row(series, t, history, dates, level) for t in sorted(set(thresholds))]
    return pd.DataFrame([r for r in rows if r is not None], columns=CROSSING_COLUMNS)
