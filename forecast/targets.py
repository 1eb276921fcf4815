"""Policy-target assessment: is the measuring share at or above the threshold at the
deadline, or how likely is it to be?

The evidence is the fitted history plus bounds (forecast.crossings.evidence_frame). The
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

from forecast.calendar import FREQUENCIES, infer_frequency, period_length
from forecast.crossings import (
    BASIS as EVIDENCE_BASIS, crossing_from, crossing_row_from, evidence_frame, proves_above, proves_below,
)
from forecast.frames import (
    BASIS, DEADLINE, DS, EVIDENCE_DATE, MEASURE, MEDIAN_DATE, PROBABILITY_BY_DEADLINE,
    PROJECTED_DATE, SERIES, TARGET_ASSESSMENT_COLUMNS, TARGET_ID, TARGET_STATUS, THRESHOLD,
)

ON_TRACK, OFF_TRACK = 0.7, 0.3


def status_from_probability(p: float) -> str:
    if p >= ON_TRACK:
        return "on_track"
    return "at_risk" if p >= OFF_TRACK else "off_track"


def evidence_at(evidence: pd.DataFrame, deadline: pd.Timestamp, frequency: str | None) -> pd.DataFrame:
    """The evidence rows within one period of the deadline's period, nearest first: the
    deadline's own period, then by distance from the deadline (earlier first on a tie)."""
    if frequency not in FREQUENCIES:
        frequency = infer_frequency(evidence[DS])
    period = period_length(frequency)
    start, end = evidence[DS], evidence[DS] + period  # each row's period [start, end)
    own = (start <= deadline) & (deadline < end)
    near = (start <= deadline + period) & (end > deadline - period)
    distance = np.where(start > deadline, (start - deadline).dt.days,
                        np.maximum((deadline - end).dt.days + 1, 0))
    ranked = evidence.assign(own_period=own, _other=~own, _distance=distance, _later=start > deadline)
    return ranked[near].sort_values(["_other", "_distance", "_later"], kind="stable")


def _decide(evidence: pd.DataFrame, threshold: float, deadline: pd.Timestamp, frequency,
            open_: bool):
    """(status, deciding row) from the evidence at the deadline, or (None, None). While the
    deadline is ahead only evidence of its own period (or later) decides."""
    near = evidence_at(evidence, deadline, frequency)
    if open_:
        near = near[near["own_period"]]
    above, below = proves_above(near, threshold), proves_below(near, threshold)
    deciding = near[above | below]
    if deciding.empty:
        return None, None
    point = deciding.iloc[0]
    if above.loc[deciding.index[0]]:
        return "met", point
    earlier = evidence[evidence[DS] < point[DS]]
    return ("reached_then_fell" if proves_above(earlier, threshold).any() else "missed"), point


def assess_target(target: dict, history: pd.DataFrame | None, as_of, cdf: pd.DataFrame | None = None,
                  bounds: pd.DataFrame | None = None, frequency: str | None = None) -> dict:
    """One assessment row for one target row (TARGET_INPUT_COLUMNS); `cdf`: the measuring
    series' CDF frame (forecast.crossings.cdf_frame), None without a forecast."""
    threshold, deadline = float(target[THRESHOLD]), pd.Timestamp(target[DEADLINE])
    row = {TARGET_ID: target[TARGET_ID], SERIES: target.get(SERIES), MEASURE: target.get(MEASURE),
           THRESHOLD: threshold, DEADLINE: deadline.date(), PROBABILITY_BY_DEADLINE: None,
           PROJECTED_DATE: None, BASIS: None, EVIDENCE_DATE: None}
    if history is None:
        history = pd.DataFrame(columns=[DS, "y"])
    evidence = evidence_frame(history, bounds)
    if evidence.empty:
        return {**row, TARGET_STATUS: "no_data"}
    projection = crossing_from(cdf, threshold)
    crossing = crossing_row_from(row[SERIES], threshold, history, projection, bounds)
    row[PROJECTED_DATE] = crossing[MEDIAN_DATE] if crossing else None
    status, point = _decide(evidence, threshold, deadline, frequency, deadline >= pd.Timestamp(as_of))
    if status is not None:
        return {**row, TARGET_STATUS: status, PROBABILITY_BY_DEADLINE: 1.0 if status == "met" else 0.0,
                BASIS: point[EVIDENCE_BASIS], EVIDENCE_DATE: point[DS].date()}
    p = projection.at(deadline) if projection is not None else None
    forecast = {PROBABILITY_BY_DEADLINE: p, BASIS: "forecast" if p is not None else None}
    if deadline < pd.Timestamp(as_of):
        return {**row, **forecast, TARGET_STATUS: "unobserved"}
    if p is None:
        return {**row, TARGET_STATUS: "no_data"}
    return {**row, **forecast, TARGET_STATUS: status_from_probability(p)}


def assess_targets(targets: pd.DataFrame, history: pd.DataFrame | None, as_of, cdf: pd.DataFrame | None = None,
                   bounds: pd.DataFrame | None = None, frequency: str | None = None) -> pd.DataFrame:
    """Assess every target row; the same call for a fresh fit and for a stored run re-assessed
    on another `as_of` (its stored CDF), so both give the same rows."""
    rows = [assess_target(t, history, as_of, cdf, bounds, frequency)
            for t in targets.to_dict("records")]
    return pd.DataFrame(rows, columns=TARGET_ASSESSMENT_COLUMNS)
