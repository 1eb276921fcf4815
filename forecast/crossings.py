"""First crossings of a threshold: observed (from the evidence) and projected (per sample
path, vectorised with NumPy).

Evidence is the fitted history (exact and approximate values) plus bounds: at each date it
proves the share at or above a threshold (its lower end is), proves it below (its upper
end is below), or neither (a lower bound below the threshold, an upper bound above it).

A projected crossing date is a distribution: each path's first date at or above the
threshold. Paths that never cross within the horizon count as "later than the horizon",
so the median (p10, p90) date exists only when at least 50% (10%, 90%) of the paths cross.
It is kept as a CDF on the forecast's date grid (cdf_frame, stored per run), and every
projected figure -- quantile dates, probabilities by milestones and deadlines -- is read
from it, so a stored run can be re-assessed on a later day without its paths.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from forecast.frames import (
    BOUND_LOWER, BOUND_UPPER, CDF, CDF_COLUMNS, CROSSING_COLUMNS, CROSSING_STATUS, DS, LATEST_ABOVE,
    MEDIAN_DATE, MILESTONES, OBSERVED_DATE, P10_DATE, P90_DATE, P_ABOVE, PROBABILITY_BY_HORIZON,
    SERIES, THRESHOLD, Y, as_datetimes,
)

NEVER = np.iinfo(np.int64).max  # index of "does not cross within the horizon"
TOLERANCE = 1e-9  # a path exactly at the threshold counts as at or above it
BASIS = "basis"  # evidence column: observation | lower_bound | upper_bound | range


@dataclass(frozen=True)
class Evidence:
    """History (ds, y) and bounds (BOUNDS_COLUMNS) as arrays sorted by date (stable: on one
    date the observation first): an observation is its own lower and upper end; `basis` is
    observation | lower_bound | upper_bound | range. Built once per series and read by every
    threshold and target (NumPy, not a frame per target: a new day re-assesses thousands)."""
    ds: np.ndarray  # datetime64[ns]
    lower: np.ndarray
    upper: np.ndarray
    basis: np.ndarray  # object

    @classmethod
    def of(cls, history: pd.DataFrame | None, bounds: pd.DataFrame | None = None) -> "Evidence":
        ds = [as_datetimes(history[DS])] if history is not None else []
        low = [history[Y].to_numpy(float)] if history is not None else []
        high, basis = list(low), [np.full(len(low[0]), "observation", object)] if low else []
        if bounds is not None and not bounds.empty:
            b_low, b_high = bounds[BOUND_LOWER].to_numpy(float), bounds[BOUND_UPPER].to_numpy(float)
            has_low, has_high = ~np.isnan(b_low), ~np.isnan(b_high)
            ds.append(as_datetimes(bounds[DS]))
            low.append(b_low)
            high.append(b_high)
            basis.append(np.where(has_low & has_high, "range", np.where(has_low, "lower_bound", "upper_bound"))
                         .astype(object))
        if not ds:
            return cls(np.array([], "datetime64[ns]"), np.array([]), np.array([]), np.array([], object))
        ds_all = np.concatenate(ds)
        order = np.argsort(ds_all, kind="stable")
        return cls(ds_all[order], np.concatenate(low)[order], np.concatenate(high)[order],
                   np.concatenate(basis)[order])

    def __len__(self) -> int:
        return len(self.ds)

    def above(self, threshold: float) -> np.ndarray:
        """Where the evidence proves the share at or above the threshold (a NaN end proves nothing)."""
        return self.lower >= threshold - TOLERANCE

    def below(self, threshold: float) -> np.ndarray:
        return self.upper < threshold - TOLERANCE


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


@dataclass(frozen=True)
class Crossing:
    """One threshold's projected crossing on the forecast's date grid: `cdf[i]` = P(first at
    or above on or before dates[i]) (paths never crossing count as later than the horizon),
    `above[i]` = P(at or above at dates[i]). Every projected figure is read from these two,
    whether they were just computed from paths or read back from the store."""
    dates: pd.DatetimeIndex
    cdf: np.ndarray
    above: np.ndarray

    def by(self, deadline) -> float:
        """P(first crossing on or before `deadline`)."""
        n_before = int(np.searchsorted(self.dates.values, np.datetime64(pd.Timestamp(deadline)), side="right"))
        return float(self.cdf[n_before - 1]) if n_before else 0.0

    def at(self, deadline) -> float | None:
        """P(at or above in the deadline's period: the last grid date on or before it), or
        None when the grid does not cover the deadline."""
        deadline = pd.Timestamp(deadline)
        k = int(np.searchsorted(self.dates.values, np.datetime64(deadline), side="right")) - 1
        step = self.dates[-1] - self.dates[-2] if len(self.dates) > 1 else pd.Timedelta(0)
        return None if k < 0 or deadline > self.dates[-1] + step else float(self.above[k])

    def quantile_date(self, q: float):
        """The first grid date by which a share q of the paths has crossed, or None past the
        horizon (the "lower" order statistic of the paths' crossing dates)."""
        reached = np.flatnonzero(self.cdf >= q - QUANTILE_SLACK)
        return self.dates[int(reached[0])].date() if len(reached) else None


QUANTILE_SLACK = 1e-12  # cdf values are counts / n: far apart from each other, not from q


def crossing_of(dates: pd.DatetimeIndex | None, level: np.ndarray | None, threshold: float) -> Crossing | None:
    """The Crossing of level paths shaped (dates, n_paths), or None without paths."""
    if level is None or dates is None or len(dates) == 0:
        return None
    above = level >= threshold - TOLERANCE
    first = first_crossing_index(level, threshold)
    counts = np.bincount(first[first != NEVER], minlength=len(dates))
    return Crossing(pd.DatetimeIndex(dates), np.cumsum(counts) / level.shape[1], above.sum(axis=1) / level.shape[1])


def cdf_frame(series: str, thresholds, dates: pd.DatetimeIndex | None, level: np.ndarray | None) -> pd.DataFrame:
    """CDF_COLUMNS rows of every threshold (empty without paths)."""
    parts = []
    for threshold in sorted(set(float(t) for t in thresholds)):
        crossing = crossing_of(dates, level, threshold)
        if crossing is not None:
            parts.append(pd.DataFrame({SERIES: series, THRESHOLD: threshold, DS: crossing.dates,
                                       CDF: crossing.cdf, P_ABOVE: crossing.above}))
    return pd.concat(parts, ignore_index=True) if parts else pd.DataFrame(columns=CDF_COLUMNS)


def crossings_by_threshold(cdf: pd.DataFrame | None) -> dict[float, Crossing]:
    """Every threshold's Crossing in a series' CDF frame (as computed or as stored)."""
    if cdf is None or cdf.empty:
        return {}
    thresholds, dates = cdf[THRESHOLD].to_numpy(float), as_datetimes(cdf[DS])
    values, above = cdf[CDF].to_numpy(float), cdf[P_ABOVE].to_numpy(float)
    out = {}
    for threshold in np.unique(thresholds):
        rows = np.flatnonzero(thresholds == threshold)
        rows = rows[np.argsort(dates[rows], kind="stable")]
        out[float(threshold)] = Crossing(pd.DatetimeIndex(dates[rows]), values[rows], above[rows])
    return out


def crossing_at(crossings: dict[float, Crossing], threshold: float) -> Crossing | None:
    """The Crossing of `threshold` (to 1e-9) among crossings_by_threshold's, or None."""
    return next((c for t, c in crossings.items() if abs(t - float(threshold)) < 1e-9), None)


def observed_crossing(history: pd.DataFrame, threshold: float):
    """First observed date at or above the threshold, or None (history: ds, y)."""
    hit = history.loc[history[Y] >= threshold - TOLERANCE, DS]
    return None if hit.empty else pd.Timestamp(hit.iloc[0]).date()


def observed_state(evidence: Evidence, threshold: float) -> dict | None:
    """What the evidence says about a threshold, or None when nothing proves it reached.

    first_above: the first date proved at or above; left_censored: nothing before it proves
    the share below (the first evidence is already above, or only undecided bounds precede
    it), so when it was crossed is unknown; latest_above: the latest deciding evidence
    (proving above or below) is at or above."""
    above, below = evidence.above(threshold), evidence.below(threshold)
    if not above.any():
        return None
    first = int(np.argmax(above))
    deciding = np.flatnonzero(above | below)
    return {"first_above": pd.Timestamp(evidence.ds[first]).date(),
            "left_censored": not below[:first].any(),
            "latest_above": bool(above[deciding[-1]])}


def _milestones(crossing: Crossing | None) -> dict:
    """P(first crossing by each milestone date); None when the horizon ends before it."""
    return {col: (crossing.by(day) if crossing is not None and crossing.dates[-1] >= pd.Timestamp(day) else None)
            for col, day in MILESTONES.items()}


def crossing_row(series: str, threshold: float, history: pd.DataFrame,
                 dates: pd.DatetimeIndex | None, level: np.ndarray | None,
                 bounds: pd.DataFrame | None = None) -> dict | None:
    """crossing_row_from with the Crossing of these level paths."""
    return crossing_row_from(series, threshold, Evidence.of(history, bounds), crossing_of(dates, level, threshold))


def crossing_row_from(series: str, threshold: float, evidence: Evidence, crossing: Crossing | None) -> dict | None:
    """One row of the crossings frame. Without a forecast (`crossing` None) only an observed
    crossing can be reported: None otherwise, never a made-up projection.

    Observed and still above: the probabilities are 1.0. Observed but fallen back below:
    median/p10/p90 stay the observed first date, and the probabilities are those of getting
    back to the threshold (the paths start after the last observation), None without paths."""
    row = {SERIES: series, THRESHOLD: float(threshold), OBSERVED_DATE: None, MEDIAN_DATE: None,
           P10_DATE: None, P90_DATE: None, PROBABILITY_BY_HORIZON: None, LATEST_ABOVE: None}
    within = float(crossing.cdf[-1]) if crossing is not None else None
    state = observed_state(evidence, threshold)
    if state is not None:
        status = "above_since_first" if state["left_censored"] else "crossed"
        if state["latest_above"]:
            probabilities = {PROBABILITY_BY_HORIZON: 1.0, **{c: 1.0 for c in MILESTONES}}
        else:
            probabilities = {PROBABILITY_BY_HORIZON: within, **_milestones(crossing)}
        return {**row, CROSSING_STATUS: status, OBSERVED_DATE: state["first_above"],
                MEDIAN_DATE: state["first_above"], LATEST_ABOVE: state["latest_above"], **probabilities}
    if crossing is None:
        return None
    median = crossing.quantile_date(0.5)
    return {
        **row,
        CROSSING_STATUS: "projected" if median is not None else "not_within_horizon",
        MEDIAN_DATE: median,
        P10_DATE: crossing.quantile_date(0.1),
        P90_DATE: crossing.quantile_date(0.9),
        PROBABILITY_BY_HORIZON: within,
        LATEST_ABOVE: False,
        **_milestones(crossing),
    }


def crossings_frame(series: str, thresholds, history: pd.DataFrame, cdf: pd.DataFrame | None,
                    bounds: pd.DataFrame | None = None) -> pd.DataFrame:
    """CROSSING_COLUMNS rows of every threshold, from the series' CDF frame (None: no forecast)."""
    evidence, crossings = Evidence.of(history, bounds), crossings_by_threshold(cdf)
    rows = [crossing_row_from(series, t, evidence, crossing_at(crossings, t)) for t in sorted(set(thresholds))]
    return pd.DataFrame([r for r in rows if r is not None], columns=CROSSING_COLUMNS)
