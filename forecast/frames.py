"""The long-frame contracts, declared once.

Every other module (store, exports, UI) imports these names instead of spelling
column names again. Shares are fractions in [0, 1].
"""
from __future__ import annotations

import numpy as np
import pandas as pd

# History: one row per observation.
SERIES = "series"
DS = "ds"
Y = "y"
HISTORY_COLUMNS = [SERIES, DS, Y]
# A share is a fraction in this closed range: the rule jobs.validate applies to every stored
# share observation, and validate_history to every history a model is given.
SHARE_RANGE = (0.0, 1.0)

# What a stored observation means. Forecasts fit on FIT_KINDS only; bounds and ranges are
# evidence for crossings and target assessments (and charts), never fitted.
OBSERVATION_KINDS = ("exact", "approximate", "lower_bound", "upper_bound", "range")
FIT_KINDS = ("exact", "approximate")

# Bounds: one row per bound observation of a series (a lower bound has only `lower`, an
# upper bound only `upper`, a range both; the other is NaN).
BOUND_LOWER, BOUND_UPPER = "lower", "upper"
BOUNDS_COLUMNS = [DS, BOUND_LOWER, BOUND_UPPER]

# Forecast: one row per series x future date.
YHAT = "yhat"
LOWER_80, UPPER_80 = "lower_80", "upper_80"
LOWER_95, UPPER_95 = "lower_95", "upper_95"
MODEL = "model"
FORECAST_COLUMNS = [SERIES, DS, YHAT, LOWER_80, UPPER_80, LOWER_95, UPPER_95, MODEL]

# Crossings: one row per series x threshold.
THRESHOLD = "threshold"
CROSSING_STATUS = "status"
OBSERVED_DATE = "observed_date"
MEDIAN_DATE = "median_date"
P10_DATE, P90_DATE = "p10_date", "p90_date"
PROBABILITY_BY_HORIZON = "probability_by_horizon"
LATEST_ABOVE = "latest_above"  # the latest deciding evidence is still at or above
PROBABILITY_BY_2027, PROBABILITY_BY_2030 = "probability_by_2027", "probability_by_2030"
MILESTONES = {PROBABILITY_BY_2027: "2027-12-31", PROBABILITY_BY_2030: "2030-12-31"}
CROSSING_COLUMNS = [
    SERIES, THRESHOLD, CROSSING_STATUS, OBSERVED_DATE,
    MEDIAN_DATE, P10_DATE, P90_DATE, PROBABILITY_BY_HORIZON,
    LATEST_ABOVE, PROBABILITY_BY_2027, PROBABILITY_BY_2030,
]
CROSSING_STATUSES = ("crossed", "above_since_first", "projected", "not_within_horizon")

# Crossing-date distributions: one row per series x threshold x forecast date (the
# forecast hubs' `cdf` output type), so the probability by any deadline is a lookup.
CDF = "cdf"  # P(first at or above the threshold on or before the date)
P_ABOVE = "p_above"  # P(at or above the threshold at the date): a deadline's probability
CDF_COLUMNS = [SERIES, THRESHOLD, DS, CDF, P_ABOVE]

# Targets: input rows and their assessment.
TARGET_ID = "target_id"
DEADLINE = "deadline"
MEASURE = "measure"  # direct | proxy | None
PROBABILITY_BY_DEADLINE = "probability_by_deadline"
PROJECTED_DATE = "projected_date"
TARGET_STATUS = "status"
TARGET_INPUT_COLUMNS = [TARGET_ID, SERIES, THRESHOLD, DEADLINE, MEASURE]
BASIS = "basis"  # what decided the status: exact | approximate | lower_bound | ... | forecast
EVIDENCE_DATE = "evidence_date"  # the date of the deciding observation or bound
TARGET_ASSESSMENT_COLUMNS = [
    TARGET_ID, SERIES, MEASURE, THRESHOLD, DEADLINE,
    PROBABILITY_BY_DEADLINE, PROJECTED_DATE, TARGET_STATUS, BASIS, EVIDENCE_DATE,
]
TARGET_STATUSES = ("met", "reached_then_fell", "missed", "unobserved",
                   "on_track", "at_risk", "off_track", "no_data")

# Per-series outcome of a run.
SERIES_STATUSES = ("ok", "insufficient_data", "failed")


def as_datetimes(values) -> np.ndarray:
    """Dates as datetime64[ns], parsed only when they are not datetimes already
    (pd.to_datetime inspects every value even then: a refresh calls this per series)."""
    values = pd.Series(values)
    parsed = values if pd.api.types.is_datetime64_dtype(values) else pd.to_datetime(values)
    return parsed.to_numpy("datetime64[ns]")


class InvalidHistory(ValueError):
    """The history frame breaks the contract (missing columns, values outside [0, 1], ...)."""


def validate_history(history: pd.DataFrame) -> pd.DataFrame:
    """Return a clean, sorted copy of a history frame or raise InvalidHistory.

    Checks: the three columns exist, dates parse, values are finite and in SHARE_RANGE,
    and no series has two values for one date. (What enters the store passed jobs.validate's
    fuller rules already; this is the contract of the frame a model is given.)
    """
    missing = [c for c in HISTORY_COLUMNS if c not in history.columns]
    if missing:
        raise InvalidHistory(f"history is missing column(s): {', '.join(missing)}")
    frame = history[HISTORY_COLUMNS].copy()
    frame[DS] = pd.to_datetime(frame[DS], errors="coerce")
    if frame[DS].isna().any():
        raise InvalidHistory("history has unparseable or empty dates")
    frame[Y] = pd.to_numeric(frame[Y], errors="coerce").astype(float)
    bad = frame[~frame[Y].between(*SHARE_RANGE)]
    if not bad.empty:
        row = bad.iloc[0]
        raise InvalidHistory(
            f"value {row[Y]!r} for {row[SERIES]} at {row[DS]:%Y-%m-%d} is not a share in [0, 1]"
        )
    dupes = frame[frame.duplicated([SERIES, DS], keep=False)]
    if not dupes.empty:
        row = dupes.iloc[0]
        raise InvalidHistory(f"{row[SERIES]} has more than one value for {row[DS]:%Y-%m-%d}")
    return frame.sort_values([SERIES, DS]).reset_index(drop=True)


# Export files (an interface users' scripts depend on: names and order are exact).
RUN_ID = "run_id"
DATE = "date"
OBSERVATIONS_EXPORT_COLUMNS = [
    SERIES, "sector", "technology", DATE, "value", "source", "snapshot_sha256",
]
FORECASTS_EXPORT_COLUMNS = [
    RUN_ID, SERIES, DATE, YHAT, LOWER_80, UPPER_80, LOWER_95, UPPER_95, MODEL,
]
CROSSINGS_EXPORT_COLUMNS = [RUN_ID, *CROSSING_COLUMNS]
TARGETS_EXPORT_COLUMNS = [
    RUN_ID, TARGET_ID, "policy_id", "policy_title", "sector", "technology", SERIES,
    MEASURE, THRESHOLD, DEADLINE, PROBABILITY_BY_DEADLINE, PROJECTED_DATE, TARGET_STATUS,
    BASIS, EVIDENCE_DATE,
]

# Forecast history (issue 12): one row per complete run x target, as history.csv writes it.
HISTORY_EXPORT_COLUMNS = [
    RUN_ID, "run_finished_at", "input_hash", TARGET_ID, SERIES, THRESHOLD, DEADLINE,
    TARGET_STATUS, PROBABILITY_BY_DEADLINE, PROJECTED_DATE, P10_DATE, P90_DATE, BASIS,
    EVIDENCE_DATE, "n_obs", "last_obs_date", "new_data",
]

# Alerts (issue 12): one row per alert, as alerts.csv and the webhooks' JSON carry them.
ALERTS_EXPORT_COLUMNS = [
    "alert_id", RUN_ID, "previous_run_id", "created_at", "kind", TARGET_ID, SERIES, THRESHOLD,
    "policy_id", "before", "after", "change", "message",
]
