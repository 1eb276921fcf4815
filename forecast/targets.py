"""Policy-target assessment: how likely is the measuring series at or above the threshold
by the deadline?

Status rules (in this order):
  no_data    no measuring series (or too little data to forecast and nothing observed)
  met        observed at or above the threshold on or before the deadline
  missed     the deadline has passed (before `as_of`) and it was not observed met
  on_track   probability >= 0.7
  at_risk    0.3 <= probability < 0.7
  off_track  probability < 0.3
For `missed`, the probability is the forecast's chance that the threshold was reached in
the unobserved stretch between the last observation and the deadline (0 when the data
cover the deadline; empty when the series has too little data to forecast).
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from forecast.crossings import crossing_row, first_crossing_index, observed_crossing, probability_by
from forecast.frames import (
    DEADLINE, MEASURE, PROBABILITY_BY_DEADLINE, PROJECTED_DATE, SERIES,
    TARGET_ASSESSMENT_COLUMNS, TARGET_ID, TARGET_STATUS, THRESHOLD,
)

ON_TRACK, OFF_TRACK = 0.7, 0.3


def status_from_probability(p: float) -> str:
    if p >= ON_TRACK:
        return "on_track"
    return "at_risk" if p >= OFF_TRACK else "off_track"


def assess_target(target: dict, history: pd.DataFrame | None, as_of,
                  dates: pd.DatetimeIndex | None = None, level: np.ndarray | None = None) -> dict:
    """One assessment row for one target row (TARGET_INPUT_COLUMNS)."""
    threshold, deadline = float(target[THRESHOLD]), pd.Timestamp(target[DEADLINE])
    row = {TARGET_ID: target[TARGET_ID], SERIES: target.get(SERIES), MEASURE: target.get(MEASURE),
           THRESHOLD: threshold, DEADLINE: deadline.date(),
           PROBABILITY_BY_DEADLINE: None, PROJECTED_DATE: None}
    if history is None or history.empty:
        return {**row, TARGET_STATUS: "no_data"}
    observed = observed_crossing(history, threshold)
    if observed is not None:
        met = pd.Timestamp(observed) <= deadline
        return {**row, PROJECTED_DATE: observed, PROBABILITY_BY_DEADLINE: 1.0 if met else 0.0,
                TARGET_STATUS: "met" if met else "missed"}
    p = None
    if level is not None:
        p = probability_by(dates, first_crossing_index(level, threshold), deadline)
        projected = crossing_row(row[SERIES], threshold, history, dates, level)
        row[PROJECTED_DATE] = projected["median_date"] if projected else None
    if deadline < pd.Timestamp(as_of):
        # Paths start after the last observation, so p is 0 when the data cover the deadline;
        # without a forecast there is no probability to give.
        return {**row, PROBABILITY_BY_DEADLINE: p, TARGET_STATUS: "missed"}
    if p is None:
        return {**row, TARGET_STATUS: "no_data"}
    return {**row, PROBABILITY_BY_DEADLINE: p, TARGET_STATUS: status_from_probability(p)}


def assess_targets(targets: pd.DataFrame, history: pd.DataFrame | None, as_of,
                   dates=None, level=None) -> pd.DataFrame:
    rows = [assess_target(t, history, as_of, dates, level) for t in targets.to_dict("records")]
    return pd.DataFrame(rows, columns=TARGET_ASSESSMENT_COLUMNS)
