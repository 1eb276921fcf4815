"""Policy-target assessment: is the measuring share at or above the threshold at the
deadline, or how likely is it to be?

The evidence is the fitted history plus bounds (forecast.crossings.Evidence). The
evidence *at the deadline* is the observation of the deadline's period, else the nearest
within one period either side (by distance from the deadline; the earlier on a tie); a
point that decides nothing (a lower bound below the threshold, an upper bound above it)
is passed over for the next nearest. Status rules, in this order:
  no_data            no measuring series, or no evidence at all
  met                the evidence at the deadline is at or above the threshold (an exact
                     value, or a lower bound that is)
  reached_then_fell  below at the deadline, but proved at or above before it
  missed             below at the deadline (an exact value, or an upper bound below it),
                     never proved above before
  unobserved         the deadline has passed with no deciding evidence near it: the
                     probability is the forecast's, at the deadline (None when the paths do
                     not cover it, e.g. a deadline inside a gap of the history)
  on_track / at_risk / off_track   the deadline is ahead: probability >= 0.7 / >= 0.3 / below
  no_data            the deadline is ahead and there is no forecast (too few points)
The forecast's probability is the share of level paths at or above the threshold in the
deadline's period (the last forecast date on or before the deadline).
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from forecast.calendar import FREQUENCIES, add_months, infer_frequency, period_months
from forecast.crossings import Crossing, Evidence, crossing_at, crossing_row_from, crossings_by_threshold
from forecast.frames import (
    BASIS, DEADLINE, DS, EVIDENCE_DATE, MEASURE, MEDIAN_DATE, PROBABILITY_BY_DEADLINE,
    PROJECTED_DATE, SERIES, TARGET_ASSESSMENT_COLUMNS, TARGET_ID, TARGET_STATUS, THRESHOLD,
)

ON_TRACK, OFF_TRACK = 0.7, 0.3


def status_from_probability(p: float) -> str:
    if p >= ON_TRACK:
        return "on_track"
    return "at_risk" if p >= OFF_TRACK else "off_track"


def evidence_at(evidence: Evidence, deadline: pd.Timestamp, frequency: str | None) -> tuple[np.ndarray, np.ndarray]:
    """The indices of the evidence within one period of the deadline's period, nearest first
    (the deadline's own period, then by distance from the deadline, earlier first on a tie),
    and whether each is of the deadline's own period."""
    if frequency not in FREQUENCIES:
        frequency = infer_frequency(pd.Series(evidence.ds))
    months = period_months(frequency)
    deadline64 = np.datetime64(deadline, "ns")
    start, end = evidence.ds, add_months(evidence.ds, months)  # each row's period [start, end)
    own = (start <= deadline64) & (deadline64 < end)
    near = (start <= np.datetime64(deadline + pd.DateOffset(months=months), "ns")) \
        & (end > np.datetime64(deadline - pd.DateOffset(months=months), "ns"))
    day = np.timedelta64(1, "D")
    later = start > deadline64
    distance = np.where(later, (start - deadline64) // day, np.maximum((deadline64 - end) // day + 1, 0))
    rows = np.flatnonzero(near)
    rows = rows[np.lexsort((later[rows], distance[rows], ~own[rows]))]  # stable: evidence order on ties
    return rows, own[rows]


def _decide(evidence: Evidence, threshold: float, deadline: pd.Timestamp, frequency,
            open_: bool) -> tuple[str | None, int | None]:
    """(status, index of the deciding evidence) from the evidence at the deadline, or (None,
    None). While the deadline is ahead only evidence of its own period (or later) decides."""
    near, own = evidence_at(evidence, deadline, frequency)
    if open_:
        near = near[own]
    above, below = evidence.above(threshold), evidence.below(threshold)
    deciding = near[above[near] | below[near]]
    if not len(deciding):
        return None, None
    point = int(deciding[0])
    if above[point]:
        return "met", point
    earlier = evidence.ds < evidence.ds[point]
    return ("reached_then_fell" if above[earlier].any() else "missed"), point


def assess_target(target: dict, history: pd.DataFrame | None, as_of, cdf: pd.DataFrame | None = None,
                  bounds: pd.DataFrame | None = None, frequency: str | None = None) -> dict:
    """One assessment row for one target row (TARGET_INPUT_COLUMNS); `cdf`: the measuring
    series' CDF frame (forecast.crossings.cdf_frame), None without a forecast."""
    return _assess(target, Evidence.of(history, bounds), pd.Timestamp(as_of), crossings_by_threshold(cdf), frequency)


def _assess(target: dict, evidence: Evidence, as_of: pd.Timestamp, crossings: dict[float, Crossing],
            frequency: str | None) -> dict:
    threshold, deadline = float(target[THRESHOLD]), pd.Timestamp(target[DEADLINE])
    row = {TARGET_ID: target[TARGET_ID], SERIES: target.get(SERIES), MEASURE: target.get(MEASURE),
           THRESHOLD: threshold, DEADLINE: deadline.date(), PROBABILITY_BY_DEADLINE: None,
           PROJECTED_DATE: None, BASIS: None, EVIDENCE_DATE: None}
    if not len(evidence):
        return {**row, TARGET_STATUS: "no_data"}
    projection = crossing_at(crossings, threshold)
    crossing = crossing_row_from(row[SERIES], threshold, evidence, projection)
    row[PROJECTED_DATE] = crossing[MEDIAN_DATE] if crossing else None
    status, point = _decide(evidence, threshold, deadline, frequency, deadline >= as_of)
    if status is not None:
        return {**row, TARGET_STATUS: status, PROBABILITY_BY_DEADLINE: 1.0 if status == "met" else 0.0,
                BASIS: evidence.basis[point], EVIDENCE_DATE: pd.Timestamp(evidence.ds[point]).date()}
    p = projection.at(deadline) if projection is not None else None
    forecast = {PROBABILITY_BY_DEADLINE: p, BASIS: "forecast" if p is not None else None}
    if deadline < as_of:
        return {**row, **forecast, TARGET_STATUS: "unobserved"}
    if p is None:
        return {**row, TARGET_STATUS: "no_data"}
    return {**row, **forecast, TARGET_STATUS: status_from_probability(p)}


def assessment_rows(targets: list[dict], history: pd.DataFrame | None, as_of, cdf: pd.DataFrame | None = None,
                    bounds: pd.DataFrame | None = None, frequency: str | None = None) -> list[dict]:
    """assess_targets' rows, as dicts (a refresh re-assessing thousands of carried series
    collects them a chunk at a time). The evidence and the CDF are read once for all targets."""
    evidence, crossings, as_of = Evidence.of(history, bounds), crossings_by_threshold(cdf), pd.Timestamp(as_of)
    return [_assess(t, evidence, as_of, crossings, frequency) for t in targets]


def assess_targets(targets: pd.DataFrame, history: pd.DataFrame | None, as_of, cdf: pd.DataFrame | None = None,
                   bounds: pd.DataFrame | None = None, frequency: str | None = None) -> pd.DataFrame:
    """Assess every target row; the same call for a fresh fit and for a stored run re-assessed
    on another `as_of` (its stored CDF), so both give the same rows."""
    rows = assessment_rows(targets.to_dict("records"), history, as_of, cdf, bounds, frequency)
    return pd.DataFrame(rows, columns=TARGET_ASSESSMENT_COLUMNS)
